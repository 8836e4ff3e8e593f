package executor

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// ErrEnvRefused: a job's environment sets a variable the provider does not
// let jobs set. It wraps ErrNotAllowed.
var ErrEnvRefused = fmt.Errorf("%w: environment refused", ErrNotAllowed)

// deniedEnvNames are variables no job may set, whatever the provider
// allows: each makes a dynamic loader, a shell or an interpreter load or
// run code the job chooses (a requester's input file is a file on the
// provider's disk), or changes which program a name runs.
var deniedEnvNames = map[string]bool{
	// Which program runs and the shell's own start-up and parsing.
	"PATH": true, "HOME": true, "IFS": true, "ENV": true, "BASH_ENV": true, "CDPATH": true,
	"SHELLOPTS": true, "BASHOPTS": true, "PS4": true, "PROMPT_COMMAND": true, "SHELL": true,
	// glibc: code loaded through charset converters, locales, tunables.
	"GCONV_PATH": true, "GLIBC_TUNABLES": true, "LOCPATH": true, "NLSPATH": true,
	"HOSTALIASES": true, "RESOLV_HOST_CONF": true, "TZDIR": true,
	// Interpreters' library paths and start-up code.
	"PERLLIB": true, "ERL_AFLAGS": true, "ERL_FLAGS": true, "ERL_ZFLAGS": true,
	"CLASSPATH": true, "TCLLIBPATH": true, "R_PROFILE": true, "R_PROFILE_USER": true, "R_LIBS": true,
	"OPENSSL_CONF": true, "OPENSSL_ENGINES": true, "OPENSSL_MODULES": true, // OpenSSL loads engines and providers named there
	"GTK_MODULES": true, "QT_PLUGIN_PATH": true, "XDG_CONFIG_HOME": true, // config files name programs to run
	// Programs run for a program: editors, pagers, helpers.
	"EDITOR": true, "VISUAL": true, "PAGER": true, "MANPAGER": true, "BROWSER": true, "LESSOPEN": true,
	"LESSCLOSE": true,
}

// deniedEnvPrefixes start variable names no job may set: the dynamic
// loaders' (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, DYLD_INSERT_LIBRARIES),
// the allocator's, the interpreters' (PYTHONPATH, PYTHONSTARTUP,
// PYTHONHOME, PYTHONBREAKPOINT, PERL5LIB, PERL5OPT, NODE_OPTIONS, RUBYOPT,
// JAVA_TOOL_OPTIONS, LUA_INIT, ...), git's (GIT_SSH_COMMAND,
// GIT_EXEC_PATH) and exported bash functions.
var deniedEnvPrefixes = []string{
	"LD_", "DYLD_", "MALLOC_", "PYTHON", "PERL5", "NODE_", "RUBY", "GEM_", "BUNDLE_",
	"JAVA_", "_JAVA_", "JDK_JAVA_", "LUA_", "GIT_", "BASH_FUNC_", "NVIDIA_",
}

// EnvNeverAllowed says why a job may never set name (loader, path or
// interpreter hijack) whatever a provider allows, or "" when it may ask.
func EnvNeverAllowed(name string) string {
	if deniedEnvNames[name] {
		return "it changes which program, shell start-up or library runs"
	}
	for _, p := range deniedEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return "names starting " + p + " make a loader or interpreter run code the job chooses"
		}
	}
	return ""
}

// envAllow is a provider's allowlist of job environment names: exact
// names or path.Match patterns ("OMP_*").
type envAllow []string

// validateEnvAllow checks the patterns of an allowlist.
func validateEnvAllow(patterns []string) error {
	var errs []error
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			errs = append(errs, fmt.Errorf("environment pattern %q: not a name or pattern", p))
		}
	}
	return errors.Join(errs...)
}

// allows says whether name matches one of the patterns.
func (a envAllow) allows(name string) bool {
	return slices.ContainsFunc(a, func(p string) bool {
		ok, _ := path.Match(p, name)
		return ok
	})
}

// refusedEnv returns the names of env a job may not set, sorted: those
// never allowed, and, when allow is not nil, those it does not match.
// Provider-set GPUMESH_ names always pass.
func refusedEnv(env map[string]string, allow envAllow, checkAllow bool) []string {
	var out []string
	for k := range env {
		switch {
		case strings.HasPrefix(k, "GPUMESH_"):
		case EnvNeverAllowed(k) != "", checkAllow && !allow.allows(k):
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// envRefusedErr is the error of Start for refused names.
func envRefusedErr(names []string, allow envAllow) error {
	return fmt.Errorf("%w: the job sets %s; this provider lets jobs set only %v (loader, path and interpreter variables never)",
		ErrEnvRefused, strings.Join(names, ", "), []string(allow))
}
