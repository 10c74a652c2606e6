library(testthat)
library(betanmf)

test_check("betanmf")
