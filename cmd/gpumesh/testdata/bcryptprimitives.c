/* A stand-in for Windows' bcryptprimitives.dll, for Wine older than 9.0
 * only (TestWindowsUnderWine): Go's Windows runtime calls ProcessPrng at
 * start. It fills the buffer from RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. Never shipped.
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
