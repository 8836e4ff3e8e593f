/* A stand-in for NVIDIA's nvml.dll, for TestWindowsUnderWine only: one
 * fixed "NVIDIA GeForce RTX 4090" with 24 GiB, 2 GiB in use, 37 % busy,
 * 55 C. It exports the functions gpu/nvml_windows.go needs and a few of
 * the optional ones; the others (power, clocks, PCIe) are left out, so
 * the loader's "function not found" path runs too. Never shipped.
 *   x86_64-w64-mingw32-gcc -shared -O2 -o nvml.dll nvml.c */
#include <string.h>

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define EXPORT __declspec(dllexport)

static int initialized;
static int the_gpu; /* its address is the device handle */

static nvmlReturn_t copy(char *dst, unsigned int n, const char *src) {
    if (dst == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > n) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(dst, src);
    return NVML_SUCCESS;
}

static int valid(nvmlDevice_t d) { return initialized && d == (nvmlDevice_t)&the_gpu; }

EXPORT nvmlReturn_t nvmlInit_v2(void) { initialized = 1; return NVML_SUCCESS; }
EXPORT nvmlReturn_t nvmlShutdown(void) { initialized = 0; return NVML_SUCCESS; }

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int n) {
    return initialized ? copy(v, n, "566.36") : NVML_ERROR_UNINITIALIZED;
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *v) {
    if (v == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *v = 12070;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if (n == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *n = 1;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if (i != 0 || d == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *d = (nvmlDevice_t)&the_gpu;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int n) {
    return valid(d) ? copy(name, n, "NVIDIA GeForce RTX 4090") : NVML_ERROR_INVALID_ARGUMENT;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int n) {
    return valid(d) ? copy(uuid, n, "GPU-5e3f7a1c-4090-4b2e-9c1d-000000004090") : NVML_ERROR_INVALID_ARGUMENT;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
    if (!valid(d) || m == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    m->total = 24ULL << 30;
    m->used = 2ULL << 30;
    m->free = m->total - m->used;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
    if (!valid(d) || u == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    u->gpu = 37;
    u->memory = 12;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int *major, int *minor) {
    if (!valid(d) || major == NULL || minor == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *major = 8;
    *minor = 9;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *t) {
    if (!valid(d) || sensor != 0 || t == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *t = 55;
    return NVML_SUCCESS;
}
