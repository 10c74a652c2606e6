# A refit against a COSMIC-sized reference set: 65 signatures named
# "SBS1".."SBS65" (the five synthetic sbs_signatures, then 60 random
# profiles) on 96 SBS channels, five of them planted in 8 samples.
refit65_signatures <- function() {
  w <- with_seed_local65(3, matrix(stats::rgamma(96 * 60, 0.4), 96, 60))
  w <- cbind(sbs_signatures, w)
  w <- sweep(w, 2, colSums(w), "/")
  dimnames(w) <- list(sbs96_channels(), paste0("SBS", 1:65))
  w
}

refit65_catalog <- function(w = refit65_signatures()) {
  with_seed_local65(4, {
    h <- matrix(0, 65, 8, dimnames = list(colnames(w), paste0("T", 1:8)))
    h[c(1, 3, 5, 20, 40), ] <- stats::rgamma(5 * 8, 2) * 200
    matrix(stats::rpois(96 * 8, w %*% h), 96, 8, dimnames = list(rownames(w), colnames(h)))
  })
}

with_seed_local65 <- function(seed, expr) {
  old <- get0(".Random.seed", envir = globalenv(), inherits = FALSE)
  on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else
    assign(".Random.seed", old, envir = globalenv()))
  set.seed(seed)
  expr
}

# plain-R cosine similarity of two vectors
plain_cosine <- function(a, b) sum(a * b) / sqrt(sum(a^2) * sum(b^2))
