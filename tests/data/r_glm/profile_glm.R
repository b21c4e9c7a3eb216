# Reference profile-likelihood intervals for tests/test_regression_profile.py: R's confint() of a
# glm (MASS's profile method: the profile on a grid, interpolated by a spline). Run from this
# folder: Rscript profile_glm.R
library(MASS)
d <- read.csv("glm_data.csv")
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
logit <- glm(ybin ~ x1 + x2, family = binomial, data = d, control = ctl)
pois <- glm(ycount ~ x1 + x2, family = poisson, data = d, control = ctl)
rows <- function(model, fit, level) {
  ci <- confint(fit, level = level)
  data.frame(model = model, level = level, name = rownames(ci), estimate = coef(fit), lower = ci[, 1],
             upper = ci[, 2])
}
out <- rbind(rows("logit", logit, 0.95), rows("logit", logit, 0.90), rows("poisson", pois, 0.95),
             rows("poisson", pois, 0.90))
write.csv(out, "profile_reference.csv", row.names = FALSE)

# The same ends found exactly: the profile deviance by glm itself with the coefficient moved
# into the offset (the other coefficients refitted), its crossing of the chi-squared cutoff by
# uniroot (tol 1e-13), inside brackets taken from confint's ends.
exact_rows <- function(model, fit, level, approx) {
  X <- model.matrix(fit)
  y <- fit$y
  fam <- family(fit)
  q <- qchisq(level, 1)
  dev0 <- deviance(fit)
  lower <- upper <- numeric(ncol(X))
  for (j in seq_len(ncol(X))) {
    D <- function(b) {
      g <- glm.fit(X[, -j, drop = FALSE], y, offset = b * X[, j], family = fam,
                   control = glm.control(epsilon = 1e-15, maxit = 200))
      g$deviance - dev0 - q
    }
    est <- coef(fit)[j]
    w <- approx$upper[j] - approx$lower[j]
    lower[j] <- uniroot(D, c(approx$lower[j] - 0.1 * w, est), tol = 1e-13)$root
    upper[j] <- uniroot(D, c(est, approx$upper[j] + 0.1 * w), tol = 1e-13)$root
  }
  data.frame(model = model, level = level, name = colnames(X), estimate = coef(fit), lower = lower, upper = upper)
}
exact <- NULL
for (m in list(list("logit", logit), list("poisson", pois))) {
  for (level in c(0.95, 0.90)) {
    approx <- out[out$model == m[[1]] & out$level == level, ]
    exact <- rbind(exact, exact_rows(m[[1]], m[[2]], level, approx))
  }
}
write.csv(format(exact, digits = 17), "profile_reference_exact.csv", row.names = FALSE, quote = FALSE)
