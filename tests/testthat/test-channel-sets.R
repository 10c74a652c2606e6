# The DBS-78 and ID-83 channel sets next to SBS-96 (issue 25): canonical
# orders checked against hand-written lists, label styles, detection, and
# rows meeting by name for every set.

# COSMIC's DBS-78 list, written out by hand (as in COSMIC's DBS tables and
# MutationalPatterns' DBS_CATEGORIES)
dbs78_by_hand <- c(
  "AC>CA", "AC>CG", "AC>CT", "AC>GA", "AC>GG", "AC>GT", "AC>TA", "AC>TG", "AC>TT",
  "AT>CA", "AT>CC", "AT>CG", "AT>GA", "AT>GC", "AT>TA",
  "CC>AA", "CC>AG", "CC>AT", "CC>GA", "CC>GG", "CC>GT", "CC>TA", "CC>TG", "CC>TT",
  "CG>AT", "CG>GC", "CG>GT", "CG>TA", "CG>TC", "CG>TT",
  "CT>AA", "CT>AC", "CT>AG", "CT>GA", "CT>GC", "CT>GG", "CT>TA", "CT>TC", "CT>TG",
  "GC>AA", "GC>AG", "GC>AT", "GC>CA", "GC>CG", "GC>TA",
  "TA>AT", "TA>CG", "TA>CT", "TA>GC", "TA>GG", "TA>GT",
  "TC>AA", "TC>AG", "TC>AT", "TC>CA", "TC>CG", "TC>CT", "TC>GA", "TC>GG", "TC>GT",
  "TG>AA", "TG>AC", "TG>AT", "TG>CA", "TG>CC", "TG>CT", "TG>GA", "TG>GC", "TG>GT",
  "TT>AA", "TT>AC", "TT>AG", "TT>CA", "TT>CC", "TT>CG", "TT>GA", "TT>GC", "TT>GG")

test_that("mutation_channels(\"DBS78\") is COSMIC's list, in COSMIC's order", {
  ch <- mutation_channels("DBS78")
  expect_identical(ch, dbs78_by_hand)
  expect_identical(mutation_channels("DBS-78"), ch)
  ref <- substr(ch, 1, 2)
  expect_identical(as.vector(table(ref)[unique(ref)]), c(9L, 6L, 9L, 6L, 9L, 6L, 6L, 9L, 9L, 9L))
  # both bases change, and no channel is another's reverse complement
  expect_true(all(substr(ch, 1, 1) != substr(ch, 4, 4) & substr(ch, 2, 2) != substr(ch, 5, 5)))
  rc <- function(s) vapply(strsplit(chartr("ACGT", "TGCA", s), ""), function(b) paste(rev(b), collapse = ""), "")
  strand_flip <- paste0(rc(substr(ch, 1, 2)), ">", rc(substr(ch, 4, 5)))
  self <- strand_flip == ch
  expect_false(any(strand_flip[!self] %in% ch))
  info <- betanmf:::channel_set("DBS78")
  expect_identical(info$class_levels, paste0(c("AC", "AT", "CC", "CG", "CT", "GC", "TA", "TC", "TG", "TT"), ">NN"))
  expect_identical(info$class[c(1, 10, 78)], c("AC>NN", "AT>NN", "TT>NN"))
  expect_identical(info$tick[1:3], c("CA", "CG", "CT"))
  expect_length(info$colours, 10)
  expect_identical(unname(info$colours[c("AC>NN", "TT>NN")]), c("#03BDEF", "#4C0199"))
  expect_identical(names(info$colours), info$class_levels)
})

test_that("mutation_channels(\"ID83\") is COSMIC's list, in COSMIC's order", {
  ch <- mutation_channels("ID83")
  expect_length(ch, 83)
  expect_false(anyDuplicated(ch) > 0)
  expect_identical(ch[1:7], c("1:Del:C:0", "1:Del:C:1", "1:Del:C:2", "1:Del:C:3", "1:Del:C:4", "1:Del:C:5",
                              "1:Del:T:0"))
  expect_identical(ch[c(12, 13, 18, 19, 24)], c("1:Del:T:5", "1:Ins:C:0", "1:Ins:C:5", "1:Ins:T:0", "1:Ins:T:5"))
  # repeats: by size, then repeat count
  expect_identical(ch[25:32], c("2:Del:R:0", "2:Del:R:1", "2:Del:R:2", "2:Del:R:3", "2:Del:R:4", "2:Del:R:5",
                                "3:Del:R:0", "3:Del:R:1"))
  expect_identical(ch[c(48, 49, 54, 55, 72)], c("5:Del:R:5", "2:Ins:R:0", "2:Ins:R:5", "3:Ins:R:0", "5:Ins:R:5"))
  expect_identical(ch[73:83], c("2:Del:M:1", "3:Del:M:1", "3:Del:M:2", "4:Del:M:1", "4:Del:M:2", "4:Del:M:3",
                                "5:Del:M:1", "5:Del:M:2", "5:Del:M:3", "5:Del:M:4", "5:Del:M:5"))
  info <- betanmf:::channel_set("ID83")
  expect_identical(info$class_levels, c("Del C", "Del T", "Ins C", "Ins T", "Del 2", "Del 3", "Del 4", "Del 5+",
                                        "Ins 2", "Ins 3", "Ins 4", "Ins 5+", "MH 2", "MH 3", "MH 4", "MH 5+"))
  expect_identical(as.vector(table(factor(info$class, info$class_levels))),
                   c(rep(6L, 12), 1L, 2L, 3L, 5L))
  # the class blocks are contiguous, in class order
  expect_identical(rle(info$class)$values, info$class_levels)
  # COSMIC's axis: deletions 1..6+, insertions 0..5+, microhomology 1..5+
  expect_identical(info$tick[1:6], c("1", "2", "3", "4", "5", "6+"))
  expect_identical(info$tick[13:18], c("0", "1", "2", "3", "4", "5+"))
  expect_identical(info$tick[79:83], c("1", "2", "3", "4", "5+"))
  expect_identical(unname(info$colours[c("Del C", "MH 5+")]), c("#FDBE6F", "#62409B"))
  expect_identical(mutation_channels(), sbs96_channels())
  expect_error(mutation_channels("SBS192"), "'set' must be one of")
})

test_that("channel_labels() reads every label style of each set", {
  # MutationalPatterns: "AC_CA"; mixed with COSMIC's style, any case
  expect_identical(channel_labels(c("AC_CA", "tt>gg", " CG_TT ")), c("AC>CA", "TT>GG", "CG>TT"))
  # MutationalPatterns' indel labels, by hand from its count_indel_contexts()
  mp <- c("C_deletion_1", "C_deletion_6+", "T_insertion_0", "T_insertion_5+", "2bp_deletion_1",
          "5+bp_deletion_6+", "3bp_insertion_2", "2bp_deletion_with_microhomology_1",
          "4bp_deletion_with_microhomology_3", "5+bp_deletion_with_microhomology_5+")
  expect_identical(channel_labels(mp), c("1:Del:C:0", "1:Del:C:5", "1:Ins:T:0", "1:Ins:T:5", "2:Del:R:0",
                                         "5:Del:R:5", "3:Ins:R:2", "2:Del:M:1", "4:Del:M:3", "5:Del:M:5"))
  # PCAWG / SigProfiler's older tables
  pcawg <- c("DEL_C_1_0", "INS_T_1_5+", "DEL_repeats_2_0", "INS_repeats_5+_5+", "DEL_MH_3_2", "DEL_MH_5+_5+")
  expect_identical(channel_labels(pcawg), c("1:Del:C:0", "1:Ins:T:5", "2:Del:R:0", "5:Ins:R:5", "3:Del:M:2",
                                            "5:Del:M:5"))
  expect_identical(channel_labels(mutation_channels("ID83")), mutation_channels("ID83"))
  expect_identical(channel_labels(c("ACA>AAA", "A[C>A]A")), c("A[C>A]A", "A[C>A]A"))
  # the other strand is not silently flipped; one base changed is not a DBS
  expect_error(channel_labels(c("AC>CA", "GT>TG")), "GT>TG", class = "betanmf_error_alignment")
  expect_error(channel_labels(c("AC>CA", "AC>CC"), set = "DBS78"), "not among the 78 DBS-78 channels.*AC>CC")
  expect_error(channel_labels(c("1:Del:C:0", "1:Del:M:1")), "1:Del:M:1")
  expect_error(channel_labels(c("2:Del:M:1", "2:Del:M:2")), "2:Del:M:2")
  expect_error(channel_labels(c("gene1", "gene2")), "not channels of SBS-96, DBS-78 or ID-83.*gene1")
  expect_error(channel_labels(c("AC>CA", NA)), "missing")
  expect_error(channel_labels(1:3), "'labels'")
})

test_that("detect_channel_set() names the set of a whole set of labels, or NULL", {
  detect <- betanmf:::detect_channel_set
  expect_identical(detect(sbs96_channels()[5:9]), "SBS96")
  expect_identical(detect(c("AC_CA", "TT>GG")), "DBS78")
  expect_identical(detect(c("1:Del:C:0", "DEL_MH_5+_5+", "C_insertion_0")), "ID83")
  expect_null(detect(c("AC>CA", "1:Del:C:0")))
  expect_null(detect(c("gene1", "AC>CA")))
  expect_null(detect(NULL))
})

test_that("rows of every set meet by name or by the canonical order of an unnamed side", {
  conform_rows <- betanmf:::conform_rows
  for (set in c("DBS78", "ID83")) {
    ch <- mutation_channels(set)
    m <- length(ch)
    canonical <- matrix(seq_len(m * 2), m, 2, dimnames = list(ch, c("a", "b")))
    shuffled <- canonical[rev(seq_len(m)), ]
    expect_identical(conform_rows(shuffled, canonical, "m", "t"), canonical)
    # an unnamed side with the set's number of rows is in canonical order
    expect_identical(conform_rows(unname(canonical), shuffled, "m", "t"), `colnames<-`(shuffled, NULL))
    expect_identical(conform_rows(shuffled, unname(canonical), "m", "t"), canonical)
    expect_error(conform_rows(canonical[-3, ], canonical, "m", "t"),
                 sprintf("'m' lacks 1 channel\\(s\\) of 't': %s", ch[3]), fixed = FALSE)
    expect_error(conform_rows(unname(canonical[-1, ]), canonical[-1, ], "m", "t"),
                 sprintf("canonical %s order", betanmf:::channel_set(set)$title))
  }
  # MutationalPatterns labels meet COSMIC's
  d <- mutation_channels("DBS78")
  mp <- matrix(1:78, 78, 1, dimnames = list(sub(">", "_", d), "s"))
  expect_identical(conform_rows(mp[78:1, , drop = FALSE], matrix(0, 78, 1, dimnames = list(d, NULL)), "m", "t")[, 1],
                   stats::setNames(1:78, d))
  dup <- mp
  rownames(dup)[2] <- "AC>CA"
  expect_error(conform_rows(dup, mp, "m", "t"), "duplicated row names \\(as DBS channels\\): AC>CA")
  # two different sets never pair up
  id <- matrix(1, 83, 1, dimnames = list(mutation_channels("ID83"), NULL))
  sbs <- matrix(1, 96, 1, dimnames = list(sbs96_channels(), NULL))
  expect_error(conform_rows(id, sbs, "m", "t"),
               "'m' has ID-83 channels as rows where SBS-96 channels are expected \\(those of 't'\\)")
})

test_that("a DBS catalog with its samples in rows is refused", {
  x <- matrix(rpois(78 * 5, 5), 78, 5, dimnames = list(mutation_channels("DBS78"), paste0("s", 1:5)))
  expect_error(nmf(t(x), 2), "columns of 'x' are named by DBS-78 channels", class = "betanmf_error_alignment")
})
