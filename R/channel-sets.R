# The three channel sets COSMIC publishes for small variants, in one
# structure: single-base substitutions in their trinucleotide context
# (SBS-96), doublet-base substitutions (DBS-78) and small insertions and
# deletions (ID-83). Each set is a list built by one constructor below:
# canonical labels in COSMIC's order, the class of each channel (the colour
# and facet of profile plots), COSMIC's palette, a short tick label, and the
# other label styles that name the same channels (for reading files).

channel_set_names <- c("SBS96", "DBS78", "ID83")

# Built once per session: detection runs on every pair of matrices that meet.
channel_set_cache <- new.env(parent = emptyenv())

# channel_set("SBS96") etc.: list(name, title, short, channels, class,
# class_levels, colours, tick, styles), `styles` a list of label vectors
# parallel to `channels` (the canonical style first).
channel_set <- function(set) {
  set <- check_channel_set(set)
  if (is.null(channel_set_cache[[set]])) {
    built <- switch(set, SBS96 = build_sbs96_set(), DBS78 = build_dbs78_set(), ID83 = build_id83_set())
    keys <- toupper(unlist(built$styles, use.names = FALSE))
    built$lookup <- stats::setNames(rep(built$channels, length(built$styles)), keys)
    channel_set_cache[[set]] <- built
  }
  channel_set_cache[[set]]
}

check_channel_set <- function(set, arg = "set") {
  ok <- is.character(set) && length(set) == 1L && !is.na(set)
  key <- if (ok) toupper(gsub("[-_ ]", "", set)) else NA_character_
  if (!ok || !(key %in% channel_set_names)) {
    abort(sprintf("'%s' must be one of \"SBS96\", \"DBS78\" or \"ID83\"", arg))
  }
  key
}

build_sbs96_set <- function() {
  ch <- sbs96_channels()
  tri <- paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7), ">",
                substr(ch, 1, 1), substr(ch, 5, 5), substr(ch, 7, 7))
  list(name = "SBS96", title = "SBS-96", short = "SBS", channels = ch, class = sbs96_class(ch),
       class_levels = sbs_substitutions, colours = sbs96_colours,
       tick = paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7)),
       styles = list(cosmic = ch, trinucleotide = tri))
}

# DBS-78: a reference dinucleotide and an alternative differing at both
# bases, counted on one strand only. The ten references are those of the
# sixteen dinucleotides that COSMIC keeps, one of each reverse-complement pair
# plus the four palindromes (AT, CG, GC, TA); for a palindrome, ref>alt and
# ref>revcomp(alt) are the same event on the two strands, and COSMIC keeps one
# of each such pair (the ones listed in `dbs_palindrome_alts`). Within a
# reference, alternatives are in alphabetical order.
dbs_references <- c("AC", "AT", "CC", "CG", "CT", "GC", "TA", "TC", "TG", "TT")
dbs_palindrome_alts <- list(AT = c("CA", "CC", "CG", "GA", "GC", "TA"),
                            CG = c("AT", "GC", "GT", "TA", "TC", "TT"),
                            GC = c("AA", "AG", "AT", "CA", "CG", "TA"),
                            TA = c("AT", "CG", "CT", "GC", "GG", "GT"))

reverse_complement <- function(s) {
  vapply(strsplit(chartr("ACGT", "TGCA", s), ""), function(b) paste(rev(b), collapse = ""), "")
}

build_dbs78_set <- function() {
  alts <- lapply(dbs_references, function(ref) {
    b1 <- setdiff(sbs_bases, substr(ref, 1, 1))
    b2 <- setdiff(sbs_bases, substr(ref, 2, 2))
    all_alts <- sort(as.vector(outer(b1, b2, paste0)), method = "radix")
    if (ref == reverse_complement(ref)) {
      # one of each strand pair: the kept ones and their reverse complements
      # make up all nine alternatives (test-channel-sets.R checks it)
      all_alts <- all_alts[all_alts %in% dbs_palindrome_alts[[ref]]]
    }
    all_alts
  })
  ref <- rep(dbs_references, lengths(alts))
  alt <- unlist(alts)
  ch <- paste0(ref, ">", alt)
  # COSMIC's palette (as drawn by SigProfilerPlotting), one colour per reference
  colours <- c("#03BDEF", "#0366CC", "#A2CF63", "#016601", "#FF9999",
               "#E42926", "#FFB266", "#FF8001", "#CC99FF", "#4C0199")
  class_levels <- paste0(dbs_references, ">NN")
  list(name = "DBS78", title = "DBS-78", short = "DBS", channels = ch, class = paste0(ref, ">NN"),
       class_levels = class_levels, colours = stats::setNames(colours, class_levels), tick = alt,
       styles = list(cosmic = ch, mutational_patterns = paste0(ref, "_", alt)))
}

# ID-83 in COSMIC's order: 1bp deletions of C, of T, 1bp insertions of C, of
# T (count 0-5: the homopolymer length beyond the indel, 5 meaning 5+); then
# deletions of 2, 3, 4, 5+ bp at repeats and insertions likewise (count 0-5:
# repeat units beyond the indel); then deletions with microhomology, 2bp
# (microhomology length 1), 3bp (1-2), 4bp (1-3), 5+bp (1-5+).
build_id83_set <- function() {
  one <- expand.grid(count = 0:5, base = c("C", "T"), type = c("Del", "Ins"), stringsAsFactors = FALSE)
  rep_ <- expand.grid(count = 0:5, size = 2:5, type = c("Del", "Ins"), stringsAsFactors = FALSE)
  mh_size <- rep(2:5, c(1, 2, 3, 5))
  mh_count <- unlist(lapply(c(1, 2, 3, 5), seq_len))
  size <- c(rep(1L, nrow(one)), rep_$size, mh_size)
  type <- c(one$type, rep_$type, rep("Del", length(mh_size)))
  kind <- c(one$base, rep("R", nrow(rep_)), rep("M", length(mh_size)))
  count <- c(one$count, rep_$count, mh_count)
  ch <- paste(size, type, kind, count, sep = ":")
  size_label <- ifelse(size == 5L, "5+", as.character(size))
  is_del <- type == "Del"
  # COSMIC's x-axis: deletion homopolymer lengths and repeat counts include
  # the deleted unit (1..6+), insertions count what is already there (0..5+),
  # microhomology lengths are 1..5+
  tick <- ifelse(kind == "M", ifelse(count == 5L, "5+", as.character(count)),
                 ifelse(is_del, ifelse(count == 5L, "6+", as.character(count + 1L)),
                        ifelse(count == 5L, "5+", as.character(count))))
  class <- ifelse(size == 1L, paste(type, kind), paste(ifelse(kind == "M", "MH", type), size_label))
  class_levels <- c("Del C", "Del T", "Ins C", "Ins T", paste("Del", c(2:4, "5+")), paste("Ins", c(2:4, "5+")),
                    paste("MH", c(2:4, "5+")))
  # MutationalPatterns: "C_deletion_1", "2bp_insertion_5+",
  # "5+bp_deletion_with_microhomology_5+" (sub-label = COSMIC's tick)
  mp_type <- ifelse(size == 1L, paste0(kind, "_", ifelse(is_del, "deletion", "insertion")),
                    paste0(size_label, "bp_", ifelse(is_del, "deletion", "insertion"),
                           ifelse(kind == "M", "_with_microhomology", "")))
  # PCAWG / SigProfiler's older tables: "DEL_C_1_0", "INS_repeats_5+_5+", "DEL_MH_5+_5+"
  pcawg_count <- ifelse(count == 5L, "5+", as.character(count))
  pcawg <- paste(toupper(type), ifelse(size == 1L, kind, ifelse(kind == "M", "MH", "repeats")), size_label,
                 pcawg_count, sep = "_")
  # COSMIC's palette, as drawn by SigProfilerPlotting, one colour per class
  colours <- c("#FDBE6F", "#FF8002", "#B0DD8B", "#36A12E", "#FDCAB5", "#FC8A6A", "#F14432", "#BC191A",
               "#D0E1F2", "#94C4DF", "#4A98C9", "#1764AB", "#E2E2EF", "#B6B6D8", "#8683BD", "#62409B")
  list(name = "ID83", title = "ID-83", short = "ID", channels = ch, class = class, class_levels = class_levels,
       colours = stats::setNames(colours, class_levels), tick = tick,
       styles = list(cosmic = ch, pcawg = pcawg, mutational_patterns = paste0(mp_type, "_", tick)))
}

# Canonical labels of `labels` in `set`, NA where a label is not one of its
# channels in any accepted style (case and surrounding space ignored).
lookup_channels <- function(labels, set) {
  unname(channel_set(set)$lookup[toupper(trimws(as.character(labels)))])
}

# The set whose channels (in any accepted style) all of `labels` are, or
# NULL. Gene or cell names fail on the first label, before all are looked up.
detect_channel_set <- function(labels) {
  if (length(labels) == 0L || !(is.character(labels) || is.factor(labels))) return(NULL)
  for (set in channel_set_names) {
    if (!is.na(lookup_channels(labels[1], set)) && !anyNA(lookup_channels(labels, set))) return(set)
  }
  NULL
}

# list(set, labels = canonical) when all of `labels` are channels of one set, else NULL.
channels_or_null <- function(labels) {
  set <- detect_channel_set(labels)
  if (is.null(set)) NULL else list(set = set, labels = lookup_channels(labels, set))
}

# The set most of `labels` belong to (for reading a file in which a label
# may be wrong), or NULL when none of them is a channel.
likely_channel_set <- function(labels) {
  hits <- vapply(channel_set_names, function(s) sum(!is.na(lookup_channels(labels, s))), numeric(1))
  if (all(hits == 0)) NULL else channel_set_names[which.max(hits)]
}

#' Mutation channel sets: SBS-96, DBS-78 and ID-83
#'
#' `mutation_channels()` lists the canonical labels of a channel set in
#' COSMIC's order; `channel_labels()` converts labels of any accepted style
#' to them. The sets, their canonical labels and the other styles read:
#'
#' * `"SBS96"`, single-base substitutions with their 5' and 3' neighbours:
#'   `"A[C>A]A"` (COSMIC, SigProfiler, MutationalPatterns), `"ACA>AAA"`
#'   (trinucleotide pairs); see [sbs96_channels()] for the order and
#'   [sbs96_labels()] for SigProfiler's `Type` / `SubType` pair.
#' * `"DBS78"`, doublet-base substitutions: `"AC>CA"` (COSMIC,
#'   SigProfiler), `"AC_CA"` (MutationalPatterns). Ten reference
#'   dinucleotides (AC, AT, CC, CG, CT, GC, TA, TC, TG, TT), each with the
#'   alternatives that differ at both bases (nine, or six for the palindromic
#'   AT, CG, GC and TA, whose two strands are one event), alternatives in
#'   alphabetical order. The class of a channel is its reference (`"AC>NN"`).
#' * `"ID83"`, small insertions and deletions: `"1:Del:C:0"`
#'   (SigProfiler, COSMIC), `"DEL_C_1_0"` (PCAWG and SigProfiler's older
#'   tables), `"C_deletion_1"` (MutationalPatterns, whose sub-labels count
#'   as COSMIC's plots do: 1-6+ for deletions, 0-5+ for insertions). Order:
#'   1bp deletions of C and of T, 1bp insertions of C and of T (counts
#'   0-5), deletions at repeats of 2, 3, 4 and 5+ bp (counts 0-5),
#'   insertions at repeats likewise, then deletions with microhomology (2bp:
#'   length 1; 3bp: 1-2; 4bp: 1-3; 5+bp: 1-5). Sixteen classes: `"Del C"`,
#'   `"Del T"`, `"Ins C"`, `"Ins T"`, `"Del 2"` ... `"Del 5+"` (deletions at
#'   repeats, by size), `"Ins 2"` ... `"Ins 5+"`, `"MH 2"` ... `"MH 5+"`
#'   (deletions with microhomology).
#'
#' Labels are not case sensitive and surrounding white space is ignored.
#' Only the strand COSMIC counts is accepted: a purine-centred SBS or a
#' DBS such as `"GT>TG"` (the reverse complement of `"AC>CA"`) is an error,
#' not silently converted.
#'
#' @param set `"SBS96"`, `"DBS78"` or `"ID83"` (`"SBS-96"` etc. also do).
#'   For `channel_labels()`, `NULL` (its default) detects the set from the
#'   labels; a set given is the one they must belong to.
#' @return `mutation_channels()`: a character vector (96, 78 or 83 labels).
#'   `channel_labels()`: the canonical labels, as long as `labels`.
#' @seealso [read_catalog()], [plot_profiles()].
#' @examples
#' head(mutation_channels("DBS78"))
#' tail(mutation_channels("ID83"))
#' channel_labels(c("AC_CA", "TT>GG"))
#' channel_labels(c("C_deletion_1", "DEL_MH_5+_5+"))
#' @export
mutation_channels <- function(set = c("SBS96", "DBS78", "ID83")) {
  if (missing(set)) set <- "SBS96"
  channel_set(set)$channels
}

#' @rdname mutation_channels
#' @param labels a character vector of channel labels.
#' @export
channel_labels <- function(labels, set = NULL) {
  if (!is.character(labels) && !is.factor(labels)) {
    abort("'labels' must be a character vector of channel labels")
  }
  labels <- as.character(labels)
  if (is.null(set)) {
    set <- likely_channel_set(labels)
    if (is.null(set)) {
      abort(sprintf("the labels are not channels of SBS-96, DBS-78 or ID-83 (see ?mutation_channels): %s",
                    paste(utils::head(unique(labels), 5), collapse = ", ")), "alignment")
    }
  }
  set <- check_channel_set(set)
  if (set == "SBS96") return(sbs96_labels(labels))
  missing_label <- is.na(labels) | trimws(labels) == ""
  if (any(missing_label)) {
    abort(sprintf("%d channel label(s) are missing (NA or empty), the first at position %d",
                  sum(missing_label), which(missing_label)[1]), "alignment")
  }
  out <- lookup_channels(labels, set)
  if (anyNA(out)) {
    info <- channel_set(set)
    abort(sprintf("%d label(s) are not among the %d %s channels (styles: %s): %s",
                  sum(is.na(out)), length(info$channels), info$title,
                  paste0("\"", vapply(info$styles, `[`, "", 1L), "\"", collapse = ", "),
                  paste(utils::head(unique(labels[is.na(out)]), 5), collapse = ", ")), "alignment")
  }
  out
}

# `mat` with its rows in the canonical order of `set`: by name when it has
# row names (any label style), as given when it has as many unnamed rows as
# the set has channels; errors as conform_rows().
to_channel_order <- function(mat, arg, set) {
  info <- channel_set(set)
  layout <- matrix(0, length(info$channels), 0L, dimnames = list(info$channels, NULL))
  conform_rows(mat, layout, arg, sprintf("mutation_channels(\"%s\")", set),
               target_desc = sprintf("the %d %s channels", length(info$channels), info$title),
               target_names_code = sprintf("mutation_channels(\"%s\")", set))
}

# The set of a matrix's rows: the one named by its row names, or, for
# unnamed rows, given by `set` or by the number of rows when that is one
# set's size (only when `by_size`). `arg` names the argument in messages.
rows_channel_set <- function(mat, set, arg, by_size = TRUE) {
  if (!is.null(set)) return(check_channel_set(set))
  rn <- rownames(mat)
  if (!is.null(rn)) {
    found <- detect_channel_set(rn)
    if (is.null(found)) {
      guess <- likely_channel_set(rn)
      if (!is.null(guess)) channel_labels(rn, guess) # names the labels that are not channels
      abort(sprintf("the row names of '%s' are not channels of SBS-96, DBS-78 or ID-83 (see ?mutation_channels): %s",
                    arg, paste(utils::head(rn, 3), collapse = ", ")), "alignment")
    }
    return(found)
  }
  sizes <- vapply(channel_set_names, function(s) length(channel_set(s)$channels), numeric(1))
  if (!by_size || !(nrow(mat) %in% sizes)) {
    abort(sprintf("'%s' has %d unnamed rows: name them by channel (see ?mutation_channels) or give 'set'",
                  arg, nrow(mat)), "alignment")
  }
  channel_set_names[match(nrow(mat), sizes)]
}
