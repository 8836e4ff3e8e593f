package executor

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
)

// A per-device container worker (DockerSpec.PerDevice, holding n > 1
// devices) runs n containers of the job's image, as a per-device process
// worker runs n processes (see the comment above perDevice): container i
// holds exactly device i (its one device request, by CDI name or by the
// NVIDIA runtime's device ID, as a one-device job's container gets it),
// its environment is process i's (CUDA_VISIBLE_DEVICES and
// NVIDIA_VISIBLE_DEVICES naming that device, LOCAL_RANK, RANK and the
// rest), its log lines start "[local_rank i] ", and it writes to the
// worker's one outputs folder. All n run in the network namespace of one
// holder container (docker_network.go), started with or without a job
// network, so they share one address, one loopback and the job's
// interface. Each container gets the worker's limits whole: n containers
// may use n times the memory, processes and CPU a one-container worker
// may. One failing container fails the worker, stops the others and is
// named in the result; every container and the holder are removed before
// the result is set, on cancel too.

// startPerDevice starts one container per device of job, in a holder's
// network namespace, with the limits lim each, running as user with the
// job's inputs and outputs folders in and out.
func (d *Docker) startPerDevice(ctx context.Context, job Job, lim Limits, user, in, out string) (Handle, error) {
	name := dockerName(job.ID)
	holder, err := d.startHolder(ctx, job, job.Spec.Docker.Image, user, name+"-net", dockerNetworkMode(d.cfg, job.Spec.Docker))
	if err != nil {
		return nil, err
	}
	h := newPerDevice(out, lim, func() { d.removeContainer(context.Background(), holder) })
	for i, dev := range job.Devices {
		cc, hc := perDeviceContainer(d.cfg, job, i, dev, lim, user, in, out)
		joinHolder(cc, hc, holder)
		c, err := d.startContainer(ctx, fmt.Sprintf("%s-%d", name, i), cc, hc, "", lim, out, h.logs, localRankPrefix(i))
		if err != nil {
			h.abort()
			return nil, fmt.Errorf("local rank %d: %w", i, err)
		}
		h.add(c)
	}
	go h.wait()
	return h, nil
}

// perDeviceContainer is the container of local rank i of job's worker,
// holding device dev: job's container with that device alone and the
// environment of process i of a per-device process worker.
func perDeviceContainer(cfg DockerConfig, job Job, i int, dev Device, lim Limits, user, in, out string) (*container.Config, *container.HostConfig) {
	env := perDeviceEnv(job, i, dev)
	if dev.UUID == "" {
		// By index, the one device is number 0 in its container.
		env[EnvCUDAVisible] = "0"
	}
	job.Devices = []Device{dev}
	cc, hc := dockerContainer(cfg, job, lim, user, in, out)
	cc.Env = overrideEnv(cc.Env, env)
	cc.Labels["gpumesh.local_rank"] = fmt.Sprint(i)
	return cc, hc
}
