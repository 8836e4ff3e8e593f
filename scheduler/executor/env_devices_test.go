package executor

import "testing"

// TestEnvDevicesNeverAllowed: a job cannot choose or renumber GPUs through
// its environment, whatever the provider's allowlist says.
func TestEnvDevicesNeverAllowed(t *testing.T) {
	for _, name := range []string{"CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
		"HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL"} {
		if EnvNeverAllowed(name) == "" {
			t.Errorf("EnvNeverAllowed(%s) allows it", name)
		}
		if got := refusedEnv(map[string]string{name: "0"}, envAllow{"*"}, true); len(got) != 1 {
			t.Errorf("an allowlist of * lets a job set %s", name)
		}
	}
	for _, name := range []string{"CUDA_CACHE_DISABLE", "OMP_NUM_THREADS", "MY_SETTING"} {
		if why := EnvNeverAllowed(name); why != "" {
			t.Errorf("EnvNeverAllowed(%s): %s, want it allowed", name, why)
		}
	}
}
