package gpu

import (
	"slices"
	"testing"
	"testing/fstest"
)

// cpuinfo returns a two-CPU /proc/cpuinfo, with the hypervisor flag or not.
func cpuinfo(hypervisor bool) string {
	flags := "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc rep_good nopl cpuid pni ssse3 fma cx16 sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand"
	if hypervisor {
		flags += " hypervisor lahf_lm"
	}
	cpu := "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC 7763 64-Core Processor\nflags\t\t: " + flags + "\n"
	return "processor\t: 0\n" + cpu + "\nprocessor\t: 1\n" + cpu + "\n"
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestDetectVirtualization(t *testing.T) {
	hostCgroup := "0::/init.scope\n"
	tests := []struct {
		name          string
		fs            fstest.MapFS
		vm            bool
		hypervisor    string
		container     bool
		runtime       string
		evidenceCount int
	}{
		{
			name: "bare metal",
			fs: fstest.MapFS{
				"proc/cpuinfo":                    file(cpuinfo(false)),
				"sys/class/dmi/id/sys_vendor":     file("Supermicro\n"),
				"sys/class/dmi/id/product_name":   file("SYS-4029GP-TRT\n"),
				"proc/1/cgroup":                   file(hostCgroup),
				"proc/sys/kernel/osrelease":       file("6.8.0-45-generic\n"),
				"sys/class/dmi/id/board_vendor":   file("Supermicro\n"),
				"sys/class/dmi/id/chassis_vendor": file("Supermicro\n"),
			},
		},
		{
			name: "KVM guest",
			fs: fstest.MapFS{
				"proc/cpuinfo":                  file(cpuinfo(true)),
				"sys/class/dmi/id/sys_vendor":   file("QEMU\n"),
				"sys/class/dmi/id/product_name": file("Standard PC (Q35 + ICH9, 2009)\n"),
				"proc/1/cgroup":                 file(hostCgroup),
			},
			vm: true, hypervisor: "qemu", evidenceCount: 2,
		},
		{
			name: "KVM named in the product",
			fs: fstest.MapFS{
				"proc/cpuinfo":                  file(cpuinfo(true)),
				"sys/class/dmi/id/sys_vendor":   file("Red Hat\n"),
				"sys/class/dmi/id/product_name": file("KVM\n"),
			},
			vm: true, hypervisor: "kvm", evidenceCount: 2,
		},
		{
			name: "VMware",
			fs: fstest.MapFS{
				"sys/class/dmi/id/sys_vendor":   file("VMware, Inc.\n"),
				"sys/class/dmi/id/product_name": file("VMware Virtual Platform\n"),
			},
			vm: true, hypervisor: "vmware", evidenceCount: 1,
		},
		{
			name: "VirtualBox",
			fs: fstest.MapFS{
				"sys/class/dmi/id/sys_vendor":   file("innotek GmbH\n"),
				"sys/class/dmi/id/product_name": file("VirtualBox\n"),
			},
			vm: true, hypervisor: "virtualbox", evidenceCount: 1,
		},
		{
			name: "Amazon EC2 instance",
			fs: fstest.MapFS{
				"proc/cpuinfo":                  file(cpuinfo(true)),
				"sys/class/dmi/id/sys_vendor":   file("Amazon EC2\n"),
				"sys/class/dmi/id/product_name": file("p4d.24xlarge\n"),
			},
			vm: true, hypervisor: "amazon-ec2", evidenceCount: 2,
		},
		{
			name: "Amazon EC2 bare metal is evidence but no VM",
			fs: fstest.MapFS{
				"proc/cpuinfo":                  file(cpuinfo(false)),
				"sys/class/dmi/id/sys_vendor":   file("Amazon EC2\n"),
				"sys/class/dmi/id/product_name": file("p5.metal\n"),
			},
			evidenceCount: 1,
		},
		{
			name: "Google Compute Engine",
			fs: fstest.MapFS{
				"proc/cpuinfo":                  file(cpuinfo(true)),
				"sys/class/dmi/id/sys_vendor":   file("Google\n"),
				"sys/class/dmi/id/product_name": file("Google Compute Engine\n"),
			},
			vm: true, hypervisor: "google", evidenceCount: 2,
		},
		{
			name: "Hyper-V guest",
			fs: fstest.MapFS{
				"proc/cpuinfo":                  file(cpuinfo(true)),
				"sys/class/dmi/id/sys_vendor":   file("Microsoft Corporation\n"),
				"sys/class/dmi/id/product_name": file("Virtual Machine\n"),
			},
			vm: true, hypervisor: "hyperv", evidenceCount: 2,
		},
		{
			name: "a Surface laptop is no Hyper-V guest",
			fs: fstest.MapFS{
				"proc/cpuinfo":                  file(cpuinfo(false)),
				"sys/class/dmi/id/sys_vendor":   file("Microsoft Corporation\n"),
				"sys/class/dmi/id/product_name": file("Surface Laptop 5\n"),
			},
		},
		{
			name: "hypervisor flag alone names nothing",
			fs: fstest.MapFS{
				"proc/cpuinfo": file(cpuinfo(true)),
			},
			vm: true, evidenceCount: 1,
		},
		{
			name: "WSL 2",
			fs: fstest.MapFS{
				"proc/cpuinfo":              file(cpuinfo(true)),
				"proc/sys/kernel/osrelease": file("5.15.153.1-microsoft-standard-WSL2\n"),
			},
			vm: true, hypervisor: "wsl", evidenceCount: 2,
		},
		{
			name: "Xen",
			fs: fstest.MapFS{
				"sys/hypervisor/type": file("xen\n"),
			},
			vm: true, hypervisor: "xen", evidenceCount: 1,
		},
		{
			name: "Docker on bare metal",
			fs: fstest.MapFS{
				"proc/cpuinfo":  file(cpuinfo(false)),
				".dockerenv":    file(""),
				"proc/1/cgroup": file("0::/\n"),
			},
			container: true, runtime: "docker", evidenceCount: 1,
		},
		{
			name: "Docker with cgroup v1 paths",
			fs: fstest.MapFS{
				"proc/1/cgroup": file("12:memory:/docker/3f1c0d2e9b8a\n11:cpu,cpuacct:/docker/3f1c0d2e9b8a\n"),
			},
			container: true, runtime: "docker", evidenceCount: 1,
		},
		{
			name: "Podman",
			fs: fstest.MapFS{
				"run/.containerenv": file("engine=\"podman-4.9.3\"\n"),
			},
			container: true, runtime: "podman", evidenceCount: 1,
		},
		{
			name: "Kubernetes pod in a cloud VM",
			fs: fstest.MapFS{
				"proc/cpuinfo":                                       file(cpuinfo(true)),
				"sys/class/dmi/id/sys_vendor":                        file("Amazon EC2\n"),
				"sys/class/dmi/id/product_name":                      file("g5.xlarge\n"),
				"var/run/secrets/kubernetes.io/serviceaccount/token": file("eyJhbGciOi...\n"),
				"proc/1/cgroup":                                      file("0::/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope\n"),
			},
			vm: true, hypervisor: "amazon-ec2", container: true, runtime: "kubernetes", evidenceCount: 4,
		},
		{
			name: "systemd-nspawn",
			fs: fstest.MapFS{
				"run/systemd/container": file("systemd-nspawn\n"),
			},
			container: true, runtime: "systemd-nspawn", evidenceCount: 1,
		},
		{
			name: "nothing readable (macOS, Windows)",
			fs:   fstest.MapFS{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectVirtualization(tt.fs)
			if got.VM != tt.vm || got.Hypervisor != tt.hypervisor {
				t.Errorf("got VM %v hypervisor %q, want VM %v hypervisor %q (evidence %q)", got.VM, got.Hypervisor, tt.vm, tt.hypervisor, got.Evidence)
			}
			if got.Container != tt.container || got.ContainerRuntime != tt.runtime {
				t.Errorf("got container %v runtime %q, want container %v runtime %q (evidence %q)", got.Container, got.ContainerRuntime, tt.container, tt.runtime, got.Evidence)
			}
			if len(got.Evidence) != tt.evidenceCount {
				t.Errorf("got %d pieces of evidence %q, want %d", len(got.Evidence), got.Evidence, tt.evidenceCount)
			}
		})
	}
}

func TestDetectVirtualizationEvidence(t *testing.T) {
	got := DetectVirtualization(fstest.MapFS{
		"proc/cpuinfo":                  file(cpuinfo(true)),
		"sys/class/dmi/id/sys_vendor":   file("QEMU\n"),
		"sys/class/dmi/id/product_name": file("Standard PC (i440FX + PIIX, 1996)\n"),
		".dockerenv":                    file(""),
	})
	want := []string{
		`/sys/class/dmi/id: vendor "QEMU", product "Standard PC (i440FX + PIIX, 1996)"`,
		"/proc/cpuinfo: hypervisor CPU flag",
		"/.dockerenv exists",
	}
	if !slices.Equal(got.Evidence, want) {
		t.Errorf("got evidence %q, want %q", got.Evidence, want)
	}
}
