#if !os(Linux)
// swiftcap uses Linux file capabilities, packet sockets, seccomp and pidfd: there is
// nothing to fall back to elsewhere, so say so at build time rather than at run time.
#error("swiftcap supports Linux only (file capabilities, packet sockets, seccomp, pidfd)")
#endif
