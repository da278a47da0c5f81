/* bcryptprimitives.dll for Wine 8 (Debian 12), which lacks it: Rust's standard library on
 * Windows takes its randomness from ProcessPrng there (Windows 10 and later have the DLL).
 * Built by tests/it/windows.rs with MinGW and found through WINEPATH; it forwards to
 * BCryptGenRandom, the system RNG Wine does have. Test infrastructure only, never shipped. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
