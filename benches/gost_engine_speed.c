/* Reference speed of Debian's GOST engine (libengine-gost-openssl) on this machine:
 * GOST R 34.10-2012 sign and verify per second over a 64-byte (512) or 32-byte (256) digest,
 * with a key of paramset A. Built and run by benches/compare.sh next to our criterion benches,
 * so both are measured in one run on the same machine. Output: one line per operation,
 * "<alg> <op> <ops_per_second>". */
#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static EVP_PKEY *keygen(ENGINE *e, const char *alg, const char *paramset) {
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    if (!ctx) ctx = EVP_PKEY_CTX_new_id(OBJ_sn2nid(alg), e);
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_ctrl_str(ctx, "paramset", paramset) <= 0 ||
        EVP_PKEY_keygen(ctx, &key) <= 0) {
        ERR_print_errors_fp(stderr);
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static int bench(ENGINE *e, const char *alg, const char *name, size_t dlen, double seconds) {
    EVP_PKEY *key = keygen(e, alg, "A");
    if (!key) return 1;
    unsigned char digest[64], sig[128];
    memset(digest, 0x5a, sizeof digest);
    size_t siglen = sizeof sig;
    EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new(key, e);
    if (!sctx || EVP_PKEY_sign_init(sctx) <= 0) { ERR_print_errors_fp(stderr); return 1; }
    long n = 0;
    double start = now();
    while (now() - start < seconds) {
        siglen = sizeof sig;
        if (EVP_PKEY_sign(sctx, sig, &siglen, digest, dlen) <= 0) { ERR_print_errors_fp(stderr); return 1; }
        n++;
    }
    printf("%s sign %.1f\n", name, n / (now() - start));
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new(key, e);
    if (!vctx || EVP_PKEY_verify_init(vctx) <= 0) { ERR_print_errors_fp(stderr); return 1; }
    n = 0;
    start = now();
    while (now() - start < seconds) {
        if (EVP_PKEY_verify(vctx, sig, siglen, digest, dlen) != 1) { ERR_print_errors_fp(stderr); return 1; }
        n++;
    }
    printf("%s verify %.1f\n", name, n / (now() - start));
    EVP_PKEY_CTX_free(sctx);
    EVP_PKEY_CTX_free(vctx);
    EVP_PKEY_free(key);
    return 0;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    ENGINE_load_builtin_engines();
    ENGINE *e = ENGINE_by_id("gost");
    if (!e || !ENGINE_init(e) || !ENGINE_set_default(e, ENGINE_METHOD_ALL)) {
        fprintf(stderr, "cannot load the gost engine\n");
        ERR_print_errors_fp(stderr);
        return 2;
    }
    int rc = bench(e, "gost2012_512", "gost2012_512", 64, seconds);
    rc |= bench(e, "gost2012_256", "gost2012_256", 32, seconds);
    ENGINE_finish(e);
    ENGINE_free(e);
    return rc;
}
