package executor

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// A container job on a job network runs in the network namespace of a
// holder container, as a Kubernetes pod's containers run in its pause
// container's: the holder starts first (its process only waits, in
// pause(2)), the provider moves the job's interface into its namespace
// (Network.Attach with the holder's pid), and only then is the job's own
// container created, with network mode container:<holder>. So the
// interface is there before the job's first instruction, without a
// shell, a wait loop or anything else in the job's image (FROM scratch
// images have nothing), and without a window in which the job runs
// unconfigured (starting the job's container and pausing it would leave
// one). The job's container cannot change the interface: it has no
// capabilities. The holder runs from the job's own image (which is here
// already) with the waiting program bind-mounted in; it is removed with
// the job's container.

// dockerHolderPath is where the waiting program is mounted in the holder.
const dockerHolderPath = "/.gpumesh-netns"

// dockerHolderMemory is the holder's memory limit: the waiting program
// needs a page or two, and the engine refuses less than 6 MiB.
const dockerHolderMemory = 8 << 20

// pauseProgram is a static Linux executable for arch (GOARCH) that waits
// for ever for a signal and does nothing else: an ELF header, one
// loadable segment and a loop around pause(2) (ppoll(2) on arm64, which
// has no pause).
func pauseProgram(arch string) ([]byte, error) {
	var machine elf.Machine
	var code []byte
	switch arch {
	case "amd64":
		machine = elf.EM_X86_64
		code = []byte{
			0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (pause)
			0x0f, 0x05, // syscall
			0xeb, 0xf7, // jmp back to the mov
		}
	case "arm64":
		machine = elf.EM_AARCH64
		for _, w := range []uint32{
			0xd2800000, // mov x0, #0 (no fds)
			0xd2800001, // mov x1, #0
			0xd2800002, // mov x2, #0 (no timeout)
			0xd2800003, // mov x3, #0 (no mask)
			0xd2800928, // mov x8, #73 (ppoll)
			0xd4000001, // svc #0
			0x17fffffa, // b back to the first mov
		} {
			code = binary.LittleEndian.AppendUint32(code, w)
		}
	default:
		return nil, fmt.Errorf("%w: container jobs on a job network need amd64 or arm64, not %s", ErrUnavailable, arch)
	}
	const base = 0x400000
	hdrs := uint64(binary.Size(elf.Header64{}) + binary.Size(elf.Prog64{}))
	size := hdrs + uint64(len(code))
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Entry: base + hdrs, Phoff: uint64(binary.Size(elf.Header64{})),
		Ehsize: uint16(binary.Size(elf.Header64{})), Phentsize: uint16(binary.Size(elf.Prog64{})), Phnum: 1,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	p := elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Vaddr: base, Paddr: base,
		Filesz: size, Memsz: size, Align: 0x1000}
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, h)
	_ = binary.Write(&b, binary.LittleEndian, p)
	b.Write(code)
	return b.Bytes(), nil
}

// startHolder starts the holder of job's network namespace from image,
// with network mode mode (none, bridge or host: what the job's container
// would have without a job network), runs job.Network.Attach with its
// process ID where job has a network, and returns its ID; on any error
// nothing is left behind. A per-device worker's containers share a holder
// with or without a job network.
func (d *Docker) startHolder(ctx context.Context, job Job, image, user, name string, mode container.NetworkMode) (string, error) {
	prog, err := pauseProgram(runtime.GOARCH)
	if err != nil {
		return "", err
	}
	dir, err := filepath.Abs(job.Dir)
	if err != nil {
		return "", fmt.Errorf("%w: job folder: %w", ErrBadSpec, err)
	}
	path := filepath.Join(dir, "netns-holder")
	if err := writeNew(path, prog, 0o555); err != nil {
		return "", fmt.Errorf("%w: write the network holder: %w", ErrUnavailable, err)
	}
	grace := 0
	pids := int64(1)
	cc := &container.Config{Image: image, Entrypoint: []string{dockerHolderPath}, User: user, Hostname: "gpumesh",
		Labels:      map[string]string{"gpumesh.executor": "docker", "gpumesh.job": job.ID, "gpumesh.owner": d.cfg.Owner, "gpumesh.role": "network"},
		StopTimeout: &grace}
	hc := &container.HostConfig{
		NetworkMode: mode, CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
		ReadonlyRootfs: true, IpcMode: "private", LogConfig: container.LogConfig{Type: "none"},
		Mounts:    []mount.Mount{{Type: mount.TypeBind, Source: path, Target: dockerHolderPath, ReadOnly: true}},
		Resources: container.Resources{Memory: dockerHolderMemory, MemorySwap: dockerHolderMemory, PidsLimit: &pids},
	}
	created, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cc, HostConfig: hc})
	if err != nil {
		d.removeContainer(ctx, name)
		return "", dockerErr("create network holder "+name, err)
	}
	id := created.ID
	fail := func(err error) (string, error) {
		d.removeContainer(ctx, id)
		return "", err
	}
	if _, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fail(dockerErr("start network holder "+name, err))
	}
	info, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return fail(dockerErr("inspect network holder "+name, err))
	}
	st := info.Container.State
	if st == nil || !st.Running || st.Pid <= 0 {
		return fail(fmt.Errorf("%w: docker: network holder %s is not running", ErrUnavailable, name))
	}
	if job.Network == nil || job.Network.Attach == nil {
		return id, nil
	}
	if err := job.Network.Attach(st.Pid); err != nil {
		return fail(fmt.Errorf("attach the job's network to container %s: %w", name, err))
	}
	return id, nil
}

// removeContainer removes container id (or name), whatever its state,
// even when ctx has ended.
func (d *Docker) removeContainer(ctx context.Context, id string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, _ = d.cli.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// writeNew writes b to a new file at path with mode perm, removing what
// was there first (a link is removed, not followed), as an earlier start
// of the same rank left it.
func writeNew(path string, b []byte, perm os.FileMode) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
