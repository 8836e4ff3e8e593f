// Package gpu tells a node what compute it can sell and how busy it is.
//
// A provider has to describe its hardware before anyone can place work on
// it, and describe it in terms every peer derives the same way: Detect takes
// the inventory once at start (NVIDIA GPUs through NVML, Apple Silicon on
// macOS, the CPU everywhere else, so a node without a GPU still runs and
// offers CPU), and Class and Pool turn a model name into the stable key the
// network uses for capability lookups and incentive pools. Because a buyer
// pays for real hardware, the inventory also says, with its evidence,
// whether the node runs in a virtual machine or a container: a trust signal,
// never a ban. A Sampler then polls live telemetry on an interval and keeps a
// short history per device for the dashboard and the API. An Accountant
// meters what each job's GPUs did (busy GPU time, peak memory, mean
// utilisation) by sampling the devices the job holds alone, which needs no
// privilege and works for containers and processes alike, where per-PID
// figures do not (meter.go says why).
//
// Only nvml.go talks to the NVIDIA driver, and only in builds with cgo on
// Linux; every other build reports NVML unavailable and falls back.
// Everything that turns the hardware's answers into our types (the NVML
// mapping, the system_profiler and /proc parsers, the virtualization
// evidence, the class rules) is a pure function tested without the hardware.
package gpu
