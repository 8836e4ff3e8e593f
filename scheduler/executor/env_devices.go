package executor

// deviceEnvNames are variables that choose or renumber the GPUs a program
// uses: the provider sets them for the devices a job holds (Job.Devices),
// so a job may not set them to reach other devices or shift the indexes.
// NVIDIA_* is refused as a prefix (deniedEnvPrefixes).
var deviceEnvNames = map[string]bool{
	"CUDA_VISIBLE_DEVICES": true, "CUDA_DEVICE_ORDER": true, "CUDA_MPS_PIPE_DIRECTORY": true,
	"HIP_VISIBLE_DEVICES": true, "ROCR_VISIBLE_DEVICES": true, "GPU_DEVICE_ORDINAL": true,
	"ZE_AFFINITY_MASK": true, "ONEAPI_DEVICE_SELECTOR": true,
}
