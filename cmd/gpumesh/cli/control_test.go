package cli

import (
	"slices"
	"testing"
)

func TestControlMergePrices(t *testing.T) {
	cur := []string{"gpu=1.00", "apple=0.30", "cpu=0.04"}
	tests := []struct {
		args    map[string]string
		order   []string
		replace bool
		want    []string
	}{
		{map[string]string{"cpu": "0.07"}, []string{"cpu"}, false, []string{"gpu=1.00", "apple=0.30", "cpu=0.07"}},
		{map[string]string{"A100-80GB": "2.1"}, []string{"A100-80GB"}, false, []string{"gpu=1.00", "apple=0.30", "cpu=0.04", "A100-80GB=2.1"}},
		{map[string]string{"apple": ""}, []string{"apple"}, false, []string{"gpu=1.00", "cpu=0.04"}},
		{map[string]string{"cpu": "0.05"}, []string{"cpu"}, true, []string{"cpu=0.05"}},
	}
	for _, tc := range tests {
		if got := mergePrices(cur, tc.args, tc.order, tc.replace); !slices.Equal(got, tc.want) {
			t.Errorf("mergePrices(%v, replace=%v) = %v, want %v", tc.args, tc.replace, got, tc.want)
		}
	}
}

func TestControlBrowserDecision(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name               string
		doubleClick, headl bool
		goos               string
		env                func(string) string
		want               bool
	}{
		{"linux desktop", true, false, "linux", env("DISPLAY", ":0"), true},
		{"wayland", true, false, "linux", env("WAYLAND_DISPLAY", "wayland-0"), true},
		{"linux server", true, false, "linux", env(), false},
		{"with arguments", false, false, "linux", env("DISPLAY", ":0"), false},
		{"headless", true, true, "windows", env(), false},
		{"CI", true, false, "windows", env("CI", "true"), false},
		{"CI=false", true, false, "windows", env("CI", "false"), true},
		{"github actions", true, false, "darwin", env("GITHUB_ACTIONS", "true"), false},
		{"opt out", true, false, "linux", env("DISPLAY", ":0", "GPUMESH_NO_BROWSER", "1"), false},
		{"mac", true, false, "darwin", env(), true},
		{"mac over ssh", true, false, "darwin", env("SSH_CONNECTION", "1.2.3.4 22"), false},
	}
	for _, tc := range tests {
		got, why := shouldOpenBrowser(tc.doubleClick, tc.headl, tc.goos, tc.env)
		if got != tc.want || (!got && why == "") {
			t.Errorf("%s: open = %v (%q), want %v with a reason when not", tc.name, got, why, tc.want)
		}
	}
	if got := browserCommand("linux", "http://x", env("BROWSER", "firefox --new-tab")); !slices.Equal(got, []string{"firefox", "--new-tab", "http://x"}) {
		t.Errorf("$BROWSER: %v", got)
	}
	if got := browserCommand("darwin", "http://x", env()); !slices.Equal(got, []string{"open", "http://x"}) {
		t.Errorf("darwin: %v", got)
	}
}
