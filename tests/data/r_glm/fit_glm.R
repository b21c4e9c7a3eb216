# Reference fits for tests/test_regression_cov_types.py: R's glm (expected information,
# summary.glm's dispersion) and MASS::glm.nb. Run from this folder: Rscript fit_glm.R
library(MASS)
d <- read.csv("glm_data.csv")
rows <- function(model, fit, extra = NULL) {
  s <- summary(fit)$coefficients
  out <- data.frame(model = model, name = rownames(s), estimate = s[, 1], se = s[, 2])
  if (!is.null(extra)) out <- rbind(out, extra)
  out
}
probit <- glm(ybin ~ x1 + x2, family = binomial(link = "probit"), data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
cloglog <- glm(ybin ~ x1 + x2, family = binomial(link = "cloglog"), data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
gam <- glm(ygam ~ x1 + x2, family = Gamma(link = "log"), data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
nb <- glm.nb(ycount ~ x1 + x2, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
out <- rbind(rows("probit", probit), rows("cloglog", cloglog),
             rows("gamma_log", gam, data.frame(model = "gamma_log", name = "dispersion",
                                               estimate = summary(gam)$dispersion, se = NA)),
             rows("nb2", nb, data.frame(model = "nb2", name = "theta", estimate = nb$theta, se = nb$SE.theta)))
write.csv(out, "glm_reference.csv", row.names = FALSE)
