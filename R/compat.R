# Living next to the NMF package (Gaujoux & Seoighe 2010), which
# MutationalPatterns and others attach.
#
# NMF exports S4 generics named like betanmf's functions: nmf(), basis(),
# consensus(), coef(), fitted(), residuals(), deviance(), predict(),
# summary() and plot(). Attached after betanmf, they mask ours; those whose
# default method is the stats/base function (coef() ... plot()) still reach
# our S3 methods, but NMF's basis() returns NULL for an nmf_fit and its
# consensus() fails in S4 dispatch. So when NMF's namespace loads (or at our
# load if it is loaded already), S4 methods for "nmf_fit" are set on those
# two generics, calling betanmf's functions. They are kept in an environment
# of our own (`nmf_methods_home`): betanmf's namespace is sealed by the time
# NMF loads, and the methods live in the generics' tables either way.
# RcppML (0.3.7) exports nmf() only, a plain function.
#
# nmf() itself cannot be redirected: NMF's nmf() must keep fitting NMF's
# models for matrices. Attached after betanmf, it answers nmf(x, ...); see
# ?betanmf (type betanmf::nmf()).

nmf_methods_home <- new.env(parent = baseenv())

nmf_generics <- list(
  basis = function(object, ...) basis(object, ...),
  consensus = function(object, ...) consensus(object, ...)
)

register_nmf_methods <- function(...) {
  ns <- tryCatch(asNamespace("NMF"), error = function(e) NULL)
  if (is.null(ns)) return(invisible(FALSE))
  if (!methods::isClass("nmf_fit", where = nmf_methods_home)) {
    methods::setOldClass("nmf_fit", where = nmf_methods_home)
  }
  for (name in names(nmf_generics)) {
    generic <- get0(name, envir = ns, inherits = FALSE)
    if (!methods::is(generic, "genericFunction")) next
    methods::setMethod(generic, "nmf_fit", nmf_generics[[name]], where = nmf_methods_home)
  }
  invisible(TRUE)
}

nmf_load_hook <- function(...) register_nmf_methods()

.onLoad <- function(libname, pkgname) {
  setHook(packageEvent("NMF", "onLoad"), nmf_load_hook)
  if (isNamespaceLoaded("NMF")) register_nmf_methods()
  invisible()
}

.onUnload <- function(libpath) {
  hook <- packageEvent("NMF", "onLoad")
  hooks <- getHook(hook)
  mine <- vapply(hooks, identical, logical(1), nmf_load_hook)
  if (any(mine)) setHook(hook, hooks[!mine], "replace")
  invisible()
}

# For an object of another package's S4 class handed to one of our
# functions that the other package also defines (attached first, masked by
# ours): the words that name that package's function, else "".
foreign_hint <- function(object, fun) {
  pkg <- attr(class(object), "package")
  if (is.null(pkg) || pkg %in% c("betanmf", ".GlobalEnv", "methods", "base")) return("")
  sprintf(" from package %s: for it, call %s::%s()", pkg, pkg, fun)
}
