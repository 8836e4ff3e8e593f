package gpu

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// Virtualization says whether the node runs inside a virtual machine or a
// container, and why we think so. Buyers weigh it as a trust signal (a VM
// can fake its GPU's answers more easily, a container shares its kernel); it
// never bars a node from the network.
type Virtualization struct {
	// VM is true when there is evidence of a hypervisor.
	VM bool `json:"vm"`
	// Hypervisor names it when known: kvm, qemu, vmware, virtualbox, xen,
	// hyperv, wsl, parallels, bhyve, bochs, apple, amazon-ec2, google,
	// openstack.
	Hypervisor string `json:"hypervisor,omitempty"`
	// Container is true when there is evidence of a container.
	Container bool `json:"container"`
	// ContainerRuntime names it when known: docker, podman, kubernetes,
	// containerd, cri-o, lxc, systemd-nspawn.
	ContainerRuntime string `json:"container_runtime,omitempty"`
	// Evidence lists what was found, one finding per entry, such as
	// "/proc/cpuinfo: hypervisor CPU flag" or "/.dockerenv exists".
	Evidence []string `json:"evidence,omitempty"`
}

// dmiHypervisors maps words found in the DMI vendor and product strings to
// a hypervisor, most specific first (a KVM guest often says QEMU too).
var dmiHypervisors = []struct{ word, name string }{
	{"KubeVirt", "kvm"},
	{"KVM", "kvm"},
	{"OpenStack", "openstack"},
	{"QEMU", "qemu"},
	{"VMware", "vmware"},
	{"VMW", "vmware"},
	{"VirtualBox", "virtualbox"},
	{"innotek", "virtualbox"},
	{"Xen", "xen"},
	{"Parallels", "parallels"},
	{"BHYVE", "bhyve"},
	{"Bochs", "bochs"},
	{"Hyper-V", "hyperv"},
	{"Apple Virtualization", "apple"},
	{"Amazon EC2", "amazon-ec2"},
	{"Google Compute Engine", "google"},
	{"Google", "google"},
}

// cgroupRuntimes maps words in /proc/1/cgroup paths to a container runtime,
// most specific first (a Kubernetes pod's path also names its runtime).
var cgroupRuntimes = []struct{ word, name string }{
	{"kubepods", "kubernetes"},
	{"libpod", "podman"},
	{"docker", "docker"},
	{"crio", "cri-o"},
	{"containerd", "containerd"},
	{"lxc", "lxc"},
}

// DetectVirtualization looks for VM and container evidence in fsys, the
// machine's root file system (os.DirFS("/") in a node; names have no
// leading slash): the hypervisor CPU flag in /proc/cpuinfo, the DMI vendor
// and product in /sys/class/dmi/id, /sys/hypervisor/type, a WSL kernel in
// /proc/sys/kernel/osrelease, /.dockerenv, /run/.containerenv,
// /run/systemd/container, a Kubernetes service-account folder, and the
// container hints in /proc/1/cgroup. Files that are missing or unreadable
// are no evidence. On systems without these files (macOS, Windows) it finds
// nothing.
func DetectVirtualization(fsys fs.FS) Virtualization {
	var v Virtualization
	vm := func(name, evidence string) {
		v.VM = true
		if v.Hypervisor == "" {
			v.Hypervisor = name
		}
		v.Evidence = append(v.Evidence, evidence)
	}
	container := func(name, evidence string) {
		v.Container = true
		if v.ContainerRuntime == "" {
			v.ContainerRuntime = name
		}
		v.Evidence = append(v.Evidence, evidence)
	}

	// DMI first: it names the hypervisor, the CPU flag does not.
	vendor := readLine(fsys, "sys/class/dmi/id/sys_vendor")
	product := readLine(fsys, "sys/class/dmi/id/product_name")
	if name := dmiHypervisor(vendor, product); name != "" {
		evidence := "/sys/class/dmi/id: vendor " + quote(vendor) + ", product " + quote(product)
		if name == "amazon-ec2" && strings.Contains(product, "metal") {
			// An EC2 bare-metal instance has Amazon's DMI but no hypervisor.
			v.Evidence = append(v.Evidence, evidence+" (bare metal)")
		} else {
			vm(name, evidence)
		}
	}
	if hasCPUFlag(fsys, "hypervisor") {
		vm("", "/proc/cpuinfo: hypervisor CPU flag")
	}
	if t := readLine(fsys, "sys/hypervisor/type"); t != "" {
		vm(strings.ToLower(sanitize(t)), "/sys/hypervisor/type: "+quote(t))
	}
	if r := readLine(fsys, "proc/sys/kernel/osrelease"); strings.Contains(strings.ToLower(r), "microsoft") {
		vm("wsl", "/proc/sys/kernel/osrelease: "+quote(r)+" (WSL)")
	}

	if exists(fsys, ".dockerenv") {
		container("docker", "/.dockerenv exists")
	}
	if exists(fsys, "run/.containerenv") {
		container("podman", "/run/.containerenv exists")
	}
	if c := readLine(fsys, "run/systemd/container"); c != "" {
		container(strings.ToLower(sanitize(c)), "/run/systemd/container: "+quote(c))
	}
	for _, dir := range []string{"var/run/secrets/kubernetes.io", "run/secrets/kubernetes.io"} {
		if exists(fsys, dir) {
			container("kubernetes", "/"+dir+" exists")
			break
		}
	}
	if name, line := cgroupRuntime(fsys); name != "" {
		container(name, "/proc/1/cgroup: "+quote(line))
	}
	return v
}

// dmiHypervisor names the hypervisor the DMI strings reveal, or "".
// Microsoft's vendor string alone is a Surface laptop as often as a
// Hyper-V guest: it counts only with the "Virtual Machine" product.
func dmiHypervisor(vendor, product string) string {
	for _, s := range []string{vendor, product} {
		for _, h := range dmiHypervisors {
			if s != "" && strings.Contains(strings.ToLower(s), strings.ToLower(h.word)) {
				return h.name
			}
		}
	}
	if strings.Contains(vendor, "Microsoft") && product == "Virtual Machine" {
		return "hyperv"
	}
	return ""
}

// cgroupRuntime returns the runtime /proc/1/cgroup names and the line that
// names it. A process in the host's root cgroup reads "0::/" and shows
// nothing; so does a container with a private cgroup namespace, which the
// marker files above catch instead.
func cgroupRuntime(fsys fs.FS) (name, line string) {
	data := readSmall(fsys, "proc/1/cgroup", 64<<10)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := sc.Text()
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		path := strings.ToLower(parts[2])
		for _, r := range cgroupRuntimes {
			if strings.Contains(path, r.word) {
				return r.name, l
			}
		}
	}
	return "", ""
}

// hasCPUFlag reports whether any "flags" line of /proc/cpuinfo lists flag.
func hasCPUFlag(fsys fs.FS, flag string) bool {
	for _, l := range strings.Split(string(readSmall(fsys, "proc/cpuinfo", 8<<20)), "\n") {
		key, val, ok := strings.Cut(l, ":")
		if ok && strings.TrimSpace(key) == "flags" && slices.Contains(strings.Fields(val), flag) {
			return true
		}
	}
	return false
}

// readSmall reads up to limit bytes of name; a missing or unreadable file
// reads as empty.
func readSmall(fsys fs.FS, name string, limit int64) []byte {
	f, err := fsys.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, limit))
	return data
}

// readLine returns the first line of a small file, trimmed.
func readLine(fsys fs.FS, name string) string {
	line, _, _ := strings.Cut(string(readSmall(fsys, name, 4<<10)), "\n")
	return strings.TrimSpace(line)
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

// quote bounds and quotes a string read from the machine for Evidence.
func quote(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
