// tiltcheck executes a Tiltfile with the real Starlark interpreter (go.starlark.net) and Tilt's
// builtins stubbed: it catches syntax errors, undefined names, bad load() symbols, wrong keyword
// arguments and runtime errors, and checks that every path handed to helm(), kustomize(),
// k8s_yaml(), docker_build(), sync() and read_json() exists. No tilt binary is available offline.
//
// With a second argument (a file listing the workload names the manifests render, one per line),
// every k8s_resource() workload must be one of them.
//
// Usage: tiltcheck <Tiltfile> [workloads.txt]   (build: GO111MODULE=off GOPATH=/usr/share/gocode go build)
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

var (
	baseDir string
	errs    []string
	// Resources named by k8s_resource() must exist: workloads seen in k8s_yaml() input are unknown
	// offline, so we record them and report the list for the run-all log instead.
	resources []string
)

func problem(format string, a ...interface{}) { errs = append(errs, fmt.Sprintf(format, a...)) }

func checkPath(fn, p string) {
	if strings.Contains(p, "://") {
		return
	}
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(baseDir, p)
	}
	if _, err := os.Stat(full); err != nil {
		problem("%s(): path %q does not exist", fn, p)
	}
}

// pathsOf collects string paths from a string or a list of strings.
func pathsOf(v starlark.Value) []string {
	switch x := v.(type) {
	case starlark.String:
		return []string{string(x)}
	case *starlark.List:
		var out []string
		for i := 0; i < x.Len(); i++ {
			if s, ok := x.Index(i).(starlark.String); ok {
				out = append(out, string(s))
			}
		}
		return out
	}
	return nil
}

// stub returns a builtin that accepts exactly Tilt's parameter names (a trailing "?" marks an
// optional one), runs check on the bound values, and returns result.
func stub(name string, params []string, check func(map[string]starlark.Value), result starlark.Value) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		vals := make([]starlark.Value, len(params))
		pairs := make([]interface{}, 0, 2*len(params))
		for i, p := range params {
			pairs = append(pairs, p, &vals[i])
		}
		if err := starlark.UnpackArgs(name, args, kwargs, pairs...); err != nil {
			return nil, err
		}
		bound := map[string]starlark.Value{}
		for i, p := range params {
			if vals[i] != nil {
				bound[strings.TrimSuffix(p, "?")] = vals[i]
			}
		}
		if check != nil {
			check(bound)
		}
		if result == nil {
			return starlark.None, nil
		}
		return result, nil
	})
}

func pathCheck(fn string, keys ...string) func(map[string]starlark.Value) {
	return func(b map[string]starlark.Value) {
		for _, k := range keys {
			if v, ok := b[k]; ok {
				for _, p := range pathsOf(v) {
					checkPath(fn, p)
				}
			}
		}
	}
}

func builtins() starlark.StringDict {
	yamlBlob := starlark.String("# rendered YAML (stub)\n")
	location := starlarkstruct.FromStringDict(starlark.String("location"), starlark.StringDict{
		"RESOURCE": starlark.String("resource"), "NAV": starlark.String("nav"),
	})
	config := starlarkstruct.FromStringDict(starlark.String("config"), starlark.StringDict{
		"define_string":      stub("config.define_string", []string{"name", "args?", "usage?"}, nil, nil),
		"define_string_list": stub("config.define_string_list", []string{"name", "args?", "usage?"}, nil, nil),
		"define_bool":        stub("config.define_bool", []string{"name", "args?", "usage?"}, nil, nil),
		"parse":              stub("config.parse", nil, nil, starlark.NewDict(0)),
		"main_path":          starlark.String(filepath.Join(baseDir, "Tiltfile")),
	})
	osMod := starlarkstruct.FromStringDict(starlark.String("os"), starlark.StringDict{
		"getenv":  stub("os.getenv", []string{"key", "default?"}, nil, starlark.String("")),
		"environ": stub("os.environ", nil, nil, starlark.NewDict(0)),
		"getcwd":  stub("os.getcwd", nil, nil, starlark.String(baseDir)),
	})
	return starlark.StringDict{
		"version_settings":   stub("version_settings", []string{"check_updates?", "constraint?"}, nil, nil),
		"allow_k8s_contexts": stub("allow_k8s_contexts", []string{"contexts"}, nil, nil),
		"update_settings":    stub("update_settings", []string{"max_parallel_updates?", "k8s_upsert_timeout_secs?", "suppress_unused_image_warnings?"}, nil, nil),
		"local": stub("local", []string{"command", "quiet?", "command_bat?", "echo_off?", "env?", "dir?", "stdin?"}, nil,
			starlark.String("/usr/local/bin/helm\n")),
		"read_json": stub("read_json", []string{"path", "default?"}, func(b map[string]starlark.Value) {
			if _, hasDefault := b["default"]; !hasDefault {
				checkPath("read_json", string(b["path"].(starlark.String)))
			}
		}, starlark.NewDict(0)),
		"watch_file": stub("watch_file", []string{"path"}, pathCheck("watch_file", "path"), nil),
		"kustomize":  stub("kustomize", []string{"paths", "kustomize_bin?", "flags?"}, pathCheck("kustomize", "paths"), yamlBlob),
		"helm": stub("helm", []string{"paths", "name?", "namespace?", "values?", "set?", "kube_version?", "skip_crds?", "flags?"},
			pathCheck("helm", "paths", "values"), yamlBlob),
		"k8s_yaml": stub("k8s_yaml", []string{"yaml", "allow_duplicates?"}, func(b map[string]starlark.Value) {
			if s, ok := b["yaml"].(starlark.String); ok && !strings.HasPrefix(string(s), "#") && !strings.Contains(string(s), "\n") {
				checkPath("k8s_yaml", string(s))
			}
		}, nil),
		"k8s_resource": stub("k8s_resource", []string{"workload?", "new_name?", "port_forwards?", "extra_pod_selectors?", "trigger_mode?",
			"resource_deps?", "objects?", "auto_init?", "pod_readiness?", "links?", "labels?", "discovery_strategy?"},
			func(b map[string]starlark.Value) {
				if w, ok := b["workload"].(starlark.String); ok {
					resources = append(resources, string(w))
				}
			}, nil),
		"local_resource": stub("local_resource", []string{"name", "cmd?", "deps?", "trigger_mode?", "resource_deps?", "ignore?", "auto_init?",
			"serve_cmd?", "cmd_bat?", "serve_cmd_bat?", "allow_parallel?", "links?", "tags?", "env?", "serve_env?", "readiness_probe?",
			"dir?", "serve_dir?", "labels?"}, nil, nil),
		"docker_build": stub("docker_build", []string{"ref", "context", "build_args?", "dockerfile?", "dockerfile_contents?", "live_update?",
			"match_in_env_vars?", "ignore?", "only?", "entrypoint?", "target?", "ssh?", "network?", "secret?", "extra_tag?",
			"container_args?", "cache_from?", "pull?", "platform?"}, pathCheck("docker_build", "context", "dockerfile", "only"), nil),
		"sync":         stub("sync", []string{"local_path", "remote_path"}, pathCheck("sync", "local_path"), starlark.String("sync")),
		"run":          stub("run", []string{"cmd", "trigger?", "echo_off?"}, nil, starlark.String("run")),
		"fall_back_on": stub("fall_back_on", []string{"files"}, pathCheck("fall_back_on", "files"), starlark.String("fall_back_on")),
		"restart_container": stub("restart_container", nil, nil, starlark.String("restart")),
		"fail": starlark.NewBuiltin("fail", func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			return nil, fmt.Errorf("fail(): %v", args)
		}),
		"blob":     stub("blob", []string{"contents"}, nil, yamlBlob),
		"config":   config,
		"os":       osMod,
		"location": location,
	}
}

// Tilt extensions (ext://name) the Tiltfile may load, with the symbols each one exports.
func extensions() map[string]starlark.StringDict {
	location := starlarkstruct.FromStringDict(starlark.String("location"), starlark.StringDict{
		"RESOURCE": starlark.String("resource"), "NAV": starlark.String("nav"),
	})
	return map[string]starlark.StringDict{
		"ext://uibutton": {
			"cmd_button": stub("cmd_button", []string{"name", "resource?", "argv?", "text?", "location?", "icon_name?", "icon_svg?",
				"inputs?", "requires_confirmation?", "env?", "dir?"}, nil, nil),
			"location":   location,
			"text_input": stub("text_input", []string{"name", "label?", "default?", "placeholder?"}, nil, starlark.String("input")),
			"bool_input": stub("bool_input", []string{"name", "label?", "default?", "true_string?", "false_string?"}, nil, starlark.String("input")),
		},
	}
}

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tiltcheck <Tiltfile> [workloads.txt]")
		os.Exit(2)
	}
	// Tilt's dialect: top-level if/for, global reassignment, while/recursion, set().
	resolve.AllowGlobalReassign = true
	resolve.AllowRecursion = true
	resolve.AllowSet = true
	file, _ := filepath.Abs(os.Args[1])
	baseDir = filepath.Dir(file)
	exts := extensions()
	thread := &starlark.Thread{
		Name: "tiltcheck",
		Load: func(t *starlark.Thread, module string) (starlark.StringDict, error) {
			if m, ok := exts[module]; ok {
				return m, nil
			}
			return nil, fmt.Errorf("unknown extension %q (add it to tiltcheck if it is real)", module)
		},
		Print: func(t *starlark.Thread, msg string) {},
	}
	if _, err := starlark.ExecFile(thread, file, nil, builtins()); err != nil {
		if ee, ok := err.(*starlark.EvalError); ok {
			problem("%s", ee.Backtrace())
		} else {
			problem("%v", err)
		}
	}
	if len(os.Args) == 3 {
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			problem("reading workloads: %v", err)
		}
		known := map[string]bool{}
		for _, l := range strings.Split(string(data), "\n") {
			known[strings.TrimSpace(l)] = true
		}
		for _, r := range resources {
			if !known[r] {
				problem("k8s_resource(%q): no such workload in the rendered manifests", r)
			}
		}
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(os.Stderr, "  ✗ %s\n", e)
		}
		os.Exit(1)
	}
	sort.Strings(resources)
	fmt.Printf("  %s executes cleanly; resources configured: %s\n", filepath.Base(file), strings.Join(resources, ", "))
}
