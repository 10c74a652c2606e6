# The 96 single-base-substitution (SBS) channels of mutational-signature
# analysis: a substitution of a pyrimidine reference base (C or T) together
# with its 5' and 3' neighbours.

sbs_substitutions <- c("C>A", "C>G", "C>T", "T>A", "T>C", "T>G")
sbs_bases <- c("A", "C", "G", "T")

#' The 96 SBS channels in COSMIC order
#'
#' The canonical labels of the 96 single-base-substitution channels,
#' `"A[C>A]A"` style, in the order COSMIC and SigProfiler use: grouped by the
#' six pyrimidine-centred substitutions C>A, C>G, C>T, T>A, T>C, T>G, and
#' within each by the 5' base (A, C, G, T) and then the 3' base (A, C, G, T).
#'
#' @return A character vector of length 96.
#' @seealso [sbs96_labels()] to convert other label styles,
#'   [read_signatures()].
#' @examples
#' ch <- sbs96_channels()
#' head(ch)
#' table(substr(ch, 3, 5))
#' @export
sbs96_channels <- function() {
  grid <- expand.grid(three = sbs_bases, five = sbs_bases, sub = sbs_substitutions,
                      stringsAsFactors = FALSE)
  paste0(grid$five, "[", grid$sub, "]", grid$three)
}

#' Convert SBS channel labels to the canonical style
#'
#' Converts labels of the 96 SBS channels to the canonical `"A[C>A]A"` style
#' of [sbs96_channels()]. Three input styles are recognised, and may be mixed:
#'
#' * canonical, `"A[C>A]A"`;
#' * trinucleotide pairs, `"ACA>AAA"` (reference context `>` mutated
#'   context; only the middle base may differ);
#' * SigProfiler's `Type` / `Subtype` pair: `labels = "C>A"` with
#'   `subtype = "ACA"` (the reference trinucleotide, whose middle base must be
#'   the substitution's reference base).
#'
#' Labels are not case sensitive and surrounding white space is ignored.
#' Purine-centred labels (e.g. `"A[G>T]A"`) are not silently reverse
#' complemented: they, and anything else that is not one of the 96 channels,
#' are an error that lists the offending labels.
#'
#' @param labels a character vector of channel labels, or the `Type` column
#'   (substitutions such as `"C>A"`) when `subtype` is given.
#' @param subtype `NULL`, or the reference trinucleotides (SigProfiler's
#'   `SubType` column), as long as `labels`.
#' @return A character vector of canonical labels, as long as `labels`.
#' @seealso [sbs96_channels()].
#' @examples
#' sbs96_labels(c("ACA>AAA", "TCG>TTG", "A[T>G]C"))
#' sbs96_labels(c("C>A", "C>T"), subtype = c("ACA", "TCG"))
#' @export
sbs96_labels <- function(labels, subtype = NULL) {
  if (!is.character(labels) && !is.factor(labels)) {
    abort("'labels' must be a character vector of SBS channel labels")
  }
  given <- as.character(labels)
  labels <- toupper(trimws(given))
  if (!is.null(subtype)) {
    if ((!is.character(subtype) && !is.factor(subtype)) || length(subtype) != length(labels)) {
      abort(sprintf("'subtype' must be a character vector as long as 'labels' (%d)", length(labels)))
    }
    given_subtype <- as.character(subtype)
    subtype <- toupper(trimws(given_subtype))
  }
  missing_label <- is.na(labels) | labels == "" |
    (if (is.null(subtype)) FALSE else (is.na(subtype) | subtype == ""))
  if (any(missing_label)) {
    abort(sprintf("%d SBS channel label(s) are missing (NA or empty), the first at position %d",
                  sum(missing_label), which(missing_label)[1]), "alignment")
  }
  out <- rep(NA_character_, length(labels))
  if (!is.null(subtype)) {
    # Type "C>A", Subtype "ACA": 5' base, reference base, 3' base
    ok <- grepl("^[ACGT]>[ACGT]$", labels) & grepl("^[ACGT]{3}$", subtype) &
      substr(labels, 1, 1) == substr(subtype, 2, 2)
    out[ok] <- paste0(substr(subtype[ok], 1, 1), "[", labels[ok], "]", substr(subtype[ok], 3, 3))
    shown <- paste0(given, " / ", given_subtype)
  } else {
    canonical <- grepl("^[ACGT]\\[[ACGT]>[ACGT]\\][ACGT]$", labels)
    out[canonical] <- labels[canonical]
    tri <- grepl("^[ACGT]{3}>[ACGT]{3}$", labels)
    # the flanking bases must be unchanged: only the middle base mutates
    tri <- tri & substr(labels, 1, 1) == substr(labels, 5, 5) & substr(labels, 3, 3) == substr(labels, 7, 7)
    out[tri] <- paste0(substr(labels[tri], 1, 1), "[", substr(labels[tri], 2, 2), ">",
                       substr(labels[tri], 6, 6), "]", substr(labels[tri], 3, 3))
    shown <- given
  }
  bad <- is.na(out) | !(out %in% sbs96_channels())
  if (any(bad)) {
    abort(sprintf(paste0("%d label(s) are not among the 96 pyrimidine-centred SBS channels ",
                         "(styles: \"A[C>A]A\", \"ACA>AAA\", or Type \"C>A\" with Subtype \"ACA\"): %s"),
                  sum(bad), paste(utils::head(unique(shown[bad]), 5), collapse = ", ")), "alignment")
  }
  out
}

# The substitution class ("C>A", ...) of canonical labels.
sbs96_class <- function(channels) substr(channels, 3, 5)

# The one place where two matrices with the same rows (channels, neurons,
# genes) meet: `mat` with its rows put in the order of `target`'s rows
# (DESIGN.md, "Names are the contract"). Never pairs by position when a side
# is named:
# * both named: matched by name, channel labels (SBS-96, DBS-78, ID-83) in
#   any style of channel_labels() compared in canonical form; the sets must
#   be equal and free of duplicates, and the result takes `target`'s row
#   names;
# * one side unnamed with 96, 78 or 83 rows, the other named by the channels
#   of the set of that size: the unnamed side is in the set's canonical order
#   (that of COSMIC and MutationalPatterns, mutation_channels()), and the
#   rows are matched through it; with `target` the unnamed one, the result
#   is in canonical order and named by it, so the caller can give `target`
#   those names;
# * both unnamed: by position (nothing else is possible), equal counts;
# * any other mix: an error saying which side lacks names and how to add them.
# `target_desc` is how messages refer to `target`, `target_names_code` how
# R code in the advice writes its row names; `arg_is_vector` says the user
# gave `mat` as a vector (whose names are set with names(), not rownames()).
conform_rows <- function(mat, target, arg, target_arg, target_desc = sprintf("'%s'", target_arg),
                         target_names_code = sprintf("rownames(%s)", target_arg), arg_is_vector = FALSE) {
  rn <- rownames(mat)
  tn <- rownames(target)
  if (is.null(rn) && is.null(tn)) {
    if (nrow(mat) != nrow(target)) {
      abort(sprintf("'%s' must have %d rows (those of %s), not %d", arg, nrow(target), target_desc, nrow(mat)),
            "alignment")
    }
    return(mat)
  }
  if (is.null(rn) || is.null(tn)) {
    named <- if (is.null(rn)) tn else rn
    set <- detect_channel_set(named)
    n_unnamed <- if (is.null(rn)) nrow(mat) else nrow(target)
    # both sides must have the whole set: the named one says which set it is
    if (is.null(set) || n_unnamed != length(channel_set(set)$channels) || length(named) != n_unnamed) {
      abort(unnamed_rows_message(mat, target, arg, target_desc, target_names_code, arg_is_vector), "alignment")
    }
    # an unnamed side with a set's number of rows is in its canonical order
    if (is.null(rn)) rownames(mat) <- channel_set(set)$channels else tn <- channel_set(set)$channels
  }
  idx <- match_row_names(rownames(mat), tn, arg, target_desc, target_names_code)
  out <- mat[idx, , drop = FALSE]
  rownames(out) <- tn # the target's own label style
  out
}

# For each of `target_names`, its row in `names` (the row names of `arg`),
# after converting both to canonical channel labels when both are channels
# of one set; an error when either has duplicates or the two sets differ.
match_row_names <- function(names, target_names, arg, target_desc, target_names_code) {
  check_unique <- function(labels, desc, suffix = "") {
    dup <- duplicated(labels)
    if (any(dup)) {
      abort(sprintf("%s has duplicated row names%s: %s; rows are matched by name, so each must be unique",
                    desc, suffix, paste(utils::head(unique(labels[dup]), 5), collapse = ", ")), "alignment")
    }
  }
  check_unique(names, sprintf("'%s'", arg))
  check_unique(target_names, target_desc)
  canon <- channels_or_null(names)
  canon_target <- channels_or_null(target_names)
  if (!is.null(canon) && !is.null(canon_target) && canon$set != canon_target$set) {
    abort(sprintf("'%s' has %s channels as rows where %s channels are expected (those of %s): they cannot be matched",
                  arg, channel_set(canon$set)$title, channel_set(canon_target$set)$title, target_desc), "alignment")
  }
  is_channels <- !is.null(canon) && !is.null(canon_target)
  if (is_channels) {
    # the same channel in two label styles is a duplicate too
    names <- canon$labels
    target_names <- canon_target$labels
    suffix <- sprintf(" (as %s channels)", channel_set(canon$set)$short)
    check_unique(names, sprintf("'%s'", arg), suffix)
    check_unique(target_names, target_desc, suffix)
  }
  what <- if (is_channels) "channel(s)" else "row(s)"
  idx <- match(target_names, names)
  extra <- setdiff(names, target_names)
  if (anyNA(idx) || length(extra)) {
    parts <- character(0)
    if (anyNA(idx)) {
      parts <- c(parts, sprintf("'%s' lacks %d %s of %s: %s", arg, sum(is.na(idx)), what, target_desc,
                                paste(utils::head(target_names[is.na(idx)], 5), collapse = ", ")))
    }
    if (length(extra)) {
      parts <- c(parts, sprintf("'%s' has %d %s that %s lacks: %s", arg, length(extra), what, target_desc,
                                paste(utils::head(extra, 5), collapse = ", ")))
    }
    abort(paste0(paste(parts, collapse = "; "),
                 sprintf(paste0("; rows are matched by name, so both must have the same %s ",
                                "(to keep only the common ones: %s[intersect(rownames(%s), %s), ])"),
                         if (is_channels) "channels" else "row names", arg, arg, target_names_code)), "alignment")
  }
  idx
}

unnamed_rows_message <- function(mat, target, arg, target_desc, target_names_code, arg_is_vector = FALSE) {
  how <- if (is.null(rownames(mat))) {
    sprintf(paste0("'%s' has no %s but %s has: rows are matched by name, never by position. ",
                   "Name the %s of '%s' by what they are, in their own order (%s(%s) <- %s ",
                   "only if they are known to be in that order)"),
            arg, if (arg_is_vector) "names" else "row names", target_desc,
            if (arg_is_vector) "entries" else "rows", arg, if (arg_is_vector) "names" else "rownames", arg,
            target_names_code)
  } else {
    sprintf(paste0("'%s' has row names but %s has none: rows are matched by name, never by position. ",
                   "Name the rows of %s as well, or, only if the rows of '%s' are known to be in its order, ",
                   "drop their names with unname(%s)"),
            arg, target_desc, target_desc, arg, arg)
  }
  named <- if (is.null(rownames(mat))) rownames(target) else rownames(mat)
  n_unnamed <- if (is.null(rownames(mat))) nrow(mat) else nrow(target)
  sizes <- c(SBS96 = 96L, DBS78 = 78L, ID83 = 83L)
  set <- detect_channel_set(named)
  if (is.null(set) && n_unnamed %in% sizes) set <- names(sizes)[match(n_unnamed, sizes)]
  if (!is.null(set)) {
    info <- channel_set(set)
    how <- paste0(how, sprintf(paste0("; an unnamed side is read in the canonical %s order of ",
                                      "mutation_channels(\"%s\") only when it has %d rows and the other side ",
                                      "is named by the %d %s channels"),
                               info$title, set, length(info$channels), length(info$channels), info$title))
  }
  how
}
