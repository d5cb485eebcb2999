"""Stepwise (online) EM: one step of a mixture's ``partial_fit``.

The running sufficient statistics s, per unit of weight, move toward the
batch's, s <- (1 - rho_t) s + rho_t s_batch with rho_t = (t + tau0)^-kappa
(``learning_offset`` tau0, ``learning_decay`` kappa; the first step takes the
batch's), through the model's own merge of statistics (Chan et al.'s rule for
the Gaussian moments) and its ``_scale_statistics``; the M-step then runs on
s counted at the batch's weight.

References: Cappé & Moulines (2009), "On-line expectation-maximization
algorithm for latent data models", JRSS B 71(3), eq. 7; Liang & Klein (2009),
"Online EM for unsupervised models", NAACL, algorithm 2.
"""

__all__ = ["step_size", "stepwise_step"]


def step_size(t, learning_decay, learning_offset):
    """rho_t = (t + learning_offset)^-learning_decay for step t >= 2 (1 at t = 1)."""
    return 1.0 if t <= 1 else (t + learning_offset) ** -learning_decay


def stepwise_step(model, result):
    """Move ``model``'s running statistics by one batch's E-step and set its
    parameters, ``n_steps_``, ``lower_bound_`` (the batch's mean log-likelihood
    at the parameters its E-step used, nats per unit weight) and ``converged_``.

    Parameters
    ----------
    model : BaseMixture
        Its ``_running`` statistics (absent at the first step) and ``n_steps_``.
    result : PassResult
        The batch's E-step (:meth:`BaseMixture._em_pass`), total weight > 0.
    """
    total = result.total_weight
    batch = model._scale_statistics(result.statistics, 1.0 / total)
    steps = getattr(model, "n_steps_", 0)
    running = getattr(model, "_running", None)
    rho = 1.0 if running is None else step_size(steps + 1, model.learning_decay,
                                                model.learning_offset)
    if rho >= 1.0:
        # The batch's own statistics: exactly one EM iteration on it.
        running = batch
        model._m_step(result.statistics)
    else:
        running = model._merge_statistics(model._scale_statistics(running, 1.0 - rho),
                                          model._scale_statistics(batch, rho))
        model._m_step(model._scale_statistics(running, total))
    model._set_parameters(model._get_parameters())  # the derived attributes too
    model._running = running
    model.n_steps_ = steps + 1
    # Fitted, not converged in fit's sense: fit with warm_start=True then
    # continues from the stream's parameters.
    model.converged_ = False
    model.lower_bound_ = (result.log_likelihood + model._log_prior()) / total
