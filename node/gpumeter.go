package node

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpumesh/gpumesh/gpu"
)

// jobGPUMetrics are the series of per-job GPU accounting on a provider:
// what the GPUs of the work it ran did, one observation per rank metered.
type jobGPUMetrics struct {
	busy, held prometheus.Counter
	peak, util prometheus.Histogram
}

// newJobGPUMetrics makes the series and registers them on reg.
func newJobGPUMetrics(reg prometheus.Registerer) *jobGPUMetrics {
	m := &jobGPUMetrics{
		busy: prometheus.NewCounter(prometheus.CounterOpts{Name: "gpumesh_job_gpu_seconds_total",
			Help: "GPU-seconds in which kernels of the work this node ran were executing (utilisation integrated over time, all devices), measured through NVML."}),
		held: prometheus.NewCounter(prometheus.CounterOpts{Name: "gpumesh_job_gpu_held_seconds_total",
			Help: "GPU-seconds the work this node ran held its devices (devices x time metered)."}),
		peak: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gpumesh_job_gpu_memory_peak_bytes",
			Help:    "Peak GPU memory of each rank's processes, all its devices together.",
			Buckets: prometheus.ExponentialBuckets(256<<20, 2, 12)}), // 256 MiB to 512 GiB
		util: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gpumesh_job_gpu_utilization_percent",
			Help:    "Mean GPU utilisation of each rank metered.",
			Buckets: prometheus.LinearBuckets(10, 10, 10)}),
	}
	reg.MustRegister(m.busy, m.held, m.peak, m.util)
	return m
}

// observe records one rank's figures; a meter's report, so it never blocks.
func (m *jobGPUMetrics) observe(u gpu.JobUsage) {
	m.busy.Add(u.Busy.Seconds())
	m.held.Add(u.Held.Seconds())
	m.peak.Observe(float64(u.PeakMemoryBytes))
	m.util.Observe(u.MeanUtilPercent)
}

// gpuAccountant is the run server's per-job GPU accountant over the node's
// probe, reading at gpu.sample_interval; nil on a host without NVML, whose
// work then reports no GPU figures.
func (n *Node) gpuAccountant() *gpu.Accountant {
	acc, err := gpu.NewAccountant(n.probe, time.Duration(n.cfg.GPU.SampleInterval), n.metrics.jobGPU.observe)
	if err != nil {
		if !errors.Is(err, gpu.ErrNoMeter) {
			n.log.Warn("per-job GPU accounting off", "err", err)
		}
		return nil
	}
	return acc
}
