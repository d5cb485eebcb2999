"""Sphinx configuration for skgen's documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
import skgen  # noqa: E402

project = "skgen"
author = "The skgen developers"
copyright = "2026, The skgen developers"
version = release = skgen.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_default_options = {"inherited-members": False}
exclude_patterns = ["_build", "examples/README.rst", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "sg_execution_times.rst"]
html_theme = "alabaster"
html_static_path = []
intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "write_computation_times": False,
}
