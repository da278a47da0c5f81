/*
 * Test double (docs/tokens.md): a PKCS#11 module that forwards every call to SoftHSM2 and adds
 * what a GOST token (Kaztoken, JaCarta GOST, Rutoken) has and Debian's SoftHSM2 lacks: GOST R
 * 34.10-2012 512-bit key pairs with the TC26 vendor mechanisms (CK_VENDOR_PKCS11_RU_TEAM_TC26 =
 * 0xD4321000):
 *   CKM_GOSTR3410_512_KEY_PAIR_GEN 0xD4321005   CKM_GOSTR3410_512 0xD4321006
 *   CKK_GOSTR3410_512 0xD4321003   CKA_GOSTR3410_PARAMS 0x250   CKA_GOSTR3411_PARAMS 0x251
 * The cryptography is OpenSSL's GOST engine (libengine-gost-openssl), not ours. Keys are made
 * only with CKA_GOSTR3410_PARAMS = id-tc26-gost-3410-12-512-paramSetA (or its KZ OID when
 * GOST_TOKEN_PARAMSET=kz), kept in the directory
 * GOST_TOKEN_DIR (one PEM and one attribute file per key, so that several processes see them),
 * shown only to logged-in sessions, and never give their private value. Signing takes a 64-byte
 * digest and answers s||r big-endian (PKCS#11 v2.40 Current Mechanisms §2.49). The object
 * handles of these keys are 0x7F000000 and up. GOST_TOKEN_FAULT makes a broken token: `value`
 * gives the public key's CKA_VALUE in 64 bytes, `sign` fails every GOST signature; every other handle, session and call is
 * SoftHSM2's (GOST_TOKEN_REAL_MODULE, default /usr/lib/softhsm/libsofthsm2.so).
 * Built by tests/it/softhsm.rs (gost_token_module) with `cc -shared ... -lcrypto`.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

typedef unsigned long CK_ULONG;
typedef CK_ULONG CK_RV;
typedef struct { unsigned char major, minor; } CK_VERSION;
typedef struct { CK_VERSION version; void *f[68]; } FUNCTION_LIST;
typedef struct { CK_ULONG type; void *value; CK_ULONG len; } ATTRIBUTE;
typedef struct { CK_ULONG mechanism; void *param; CK_ULONG param_len; } MECHANISM;
typedef struct { CK_ULONG min, max, flags; } MECHANISM_INFO;
typedef struct { CK_ULONG slot, state, flags, device_error; } SESSION_INFO;

/* Indices in the v2.40 function list (pkcs11f.h order). */
enum {
    GET_MECHANISM_LIST = 7, GET_MECHANISM_INFO = 8, CLOSE_SESSION = 13, GET_SESSION_INFO = 15,
    DESTROY_OBJECT = 22, GET_ATTRIBUTE_VALUE = 24, SET_ATTRIBUTE_VALUE = 25,
    FIND_OBJECTS_INIT = 26, FIND_OBJECTS = 27, FIND_OBJECTS_FINAL = 28, SIGN_INIT = 42, SIGN = 43,
    GENERATE_KEY_PAIR = 59
};

#define CKR_OK 0x0UL
#define CKR_GENERAL_ERROR 0x5UL
#define CKR_FUNCTION_FAILED 0x6UL
#define CKR_ARGUMENTS_BAD 0x7UL
#define CKR_ATTRIBUTE_READ_ONLY 0x10UL
#define CKR_ATTRIBUTE_SENSITIVE 0x11UL
#define CKR_ATTRIBUTE_TYPE_INVALID 0x12UL
#define CKR_DATA_LEN_RANGE 0x21UL
#define CKR_KEY_HANDLE_INVALID 0x60UL
#define CKR_KEY_TYPE_INCONSISTENT 0x63UL
#define CKR_MECHANISM_INVALID 0x70UL
#define CKR_OBJECT_HANDLE_INVALID 0x82UL
#define CKR_OPERATION_NOT_INITIALIZED 0x91UL
#define CKR_SESSION_READ_ONLY 0xB5UL
#define CKR_TEMPLATE_INCOMPLETE 0xD0UL
#define CKR_TEMPLATE_INCONSISTENT 0xD1UL
#define CKR_USER_NOT_LOGGED_IN 0x101UL
#define CKR_DOMAIN_PARAMS_INVALID 0x130UL
#define CKR_BUFFER_TOO_SMALL 0x150UL
#define UNAVAILABLE (~0UL)

#define CKA_CLASS 0x0UL
#define CKA_TOKEN 0x1UL
#define CKA_PRIVATE 0x2UL
#define CKA_LABEL 0x3UL
#define CKA_VALUE 0x11UL
#define CKA_KEY_TYPE 0x100UL
#define CKA_ID 0x102UL
#define CKA_SENSITIVE 0x103UL
#define CKA_ENCRYPT 0x104UL
#define CKA_DECRYPT 0x105UL
#define CKA_WRAP 0x106UL
#define CKA_UNWRAP 0x107UL
#define CKA_SIGN 0x108UL
#define CKA_SIGN_RECOVER 0x109UL
#define CKA_VERIFY_RECOVER 0x10BUL
#define CKA_ALWAYS_AUTHENTICATE 0x202UL
#define CKA_VERIFY 0x10AUL
#define CKA_DERIVE 0x10CUL
#define CKA_LOCAL 0x163UL
#define CKA_EXTRACTABLE 0x162UL
#define CKA_NEVER_EXTRACTABLE 0x164UL
#define CKA_ALWAYS_SENSITIVE 0x165UL
#define CKA_MODIFIABLE 0x170UL
#define CKA_GOSTR3410_PARAMS 0x250UL
#define CKA_GOSTR3411_PARAMS 0x251UL
#define CKO_PUBLIC_KEY 2UL
#define CKO_PRIVATE_KEY 3UL
#define CKK_GOSTR3410_512 0xD4321003UL
#define CKM_GOSTR3410_512_KEY_PAIR_GEN 0xD4321005UL
#define CKM_GOSTR3410_512 0xD4321006UL
#define CKF_HW 0x1UL
#define CKF_SIGN 0x800UL
#define CKF_VERIFY 0x2000UL
#define CKF_GENERATE_KEY_PAIR 0x10000UL
#define CKS_RO_USER_FUNCTIONS 1UL
#define CKS_RW_USER_FUNCTIONS 3UL

#define HANDLE_BASE 0x7F000000UL
#define MAX_KEYS 64
#define MAX_SESSIONS 64
#define MAX_BYTES 128

/* id-tc26-gost-3410-12-512-paramSetA and id-tc26-gost3411-12-512, DER. */
static const unsigned char PARAMSET_A[] = {0x06, 0x09, 0x2A, 0x85, 0x03, 0x07, 0x01,
                                           0x02, 0x01, 0x02, 0x01};
/* The same curve by its KZ OID, 1.2.398.3.10.1.1.2.2.1: the only name this token knows when
 * GOST_TOKEN_PARAMSET=kz (as a Kazakh token might). */
static const unsigned char KZ_PARAMSET_A[] = {0x06, 0x0A, 0x2A, 0x83, 0x0E, 0x03, 0x0A, 0x01,
                                              0x01, 0x02, 0x02, 0x01};
static const unsigned char STREEBOG_512[] = {0x06, 0x08, 0x2A, 0x85, 0x03,
                                             0x07, 0x01, 0x01, 0x02, 0x03};
/* 1.2.398.3.10.1.3.3, the KZ name of Streebog-512. */
static const unsigned char KZ_STREEBOG_512[] = {0x06, 0x08, 0x2A, 0x83, 0x0E, 0x03,
                                                0x0A, 0x01, 0x03, 0x03};

typedef struct {
    int present;
    unsigned char id[MAX_BYTES], label[MAX_BYTES], public[128];
    CK_ULONG id_len, label_len;
} KEY;

typedef struct {
    CK_ULONG session;
    int used, finding, signing;
    CK_ULONG found[2 * MAX_KEYS], count, next, key;
} SESSION;

static FUNCTION_LIST real, ours;
static int loaded;
static ENGINE *gost;
static KEY keys[MAX_KEYS];
static SESSION sessions[MAX_SESSIONS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

typedef CK_RV (*get_list_fn)(FUNCTION_LIST **);
#define REAL(index, type) ((type)real.f[index])

/* GOST_TOKEN_FAULT names the one thing this token does wrong. */
static int fault(const char *what) {
    const char *which = getenv("GOST_TOKEN_FAULT");
    return which && strcmp(which, what) == 0;
}

static int kz_names(void) {
    const char *which = getenv("GOST_TOKEN_PARAMSET");
    return which && strcmp(which, "kz") == 0;
}

/* The curve's name this token knows. */
static const unsigned char *paramset(CK_ULONG *len) {
    *len = kz_names() ? sizeof KZ_PARAMSET_A : sizeof PARAMSET_A;
    return kz_names() ? KZ_PARAMSET_A : PARAMSET_A;
}

/* Streebog-512's name beside it. */
static const unsigned char *hash_params(CK_ULONG *len) {
    *len = kz_names() ? sizeof KZ_STREEBOG_512 : sizeof STREEBOG_512;
    return kz_names() ? KZ_STREEBOG_512 : STREEBOG_512;
}

/* ---- keys on disk ---- */

static const char *dir(void) {
    const char *d = getenv("GOST_TOKEN_DIR");
    return d ? d : "/nonexistent";
}

static void path_of(char *out, size_t size, int n, const char *ext) {
    snprintf(out, size, "%s/key%02d.%s", dir(), n, ext);
}

static ENGINE *engine(void) {
    if (!gost) {
        ENGINE *e = ENGINE_by_id("gost");
        if (!e || !ENGINE_init(e))
            return 0;
        ENGINE_register_pkey_asn1_meths(e);
        ENGINE_register_pkey_meths(e);
        gost = e;
    }
    return gost;
}

static void hex_write(FILE *f, const unsigned char *b, CK_ULONG n) {
    for (CK_ULONG i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
    fputc('\n', f);
}

static CK_ULONG hex_read(const char *line, unsigned char *out) {
    CK_ULONG n = 0;
    unsigned int byte;
    while (n < MAX_BYTES && sscanf(line + 2 * n, "%2x", &byte) == 1)
        out[n++] = (unsigned char)byte;
    return n;
}

/* Reads every key's attribute file again (another process may have made or changed one). */
static void reload(void) {
    char path[4096], line[2 * MAX_BYTES + 8];
    for (int n = 0; n < MAX_KEYS; n++) {
        KEY *k = &keys[n];
        memset(k, 0, sizeof *k);
        path_of(path, sizeof path, n, "attr");
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(line, sizeof line, f))
            k->id_len = hex_read(line, k->id);
        if (fgets(line, sizeof line, f))
            k->label_len = hex_read(line, k->label);
        if (fgets(line, sizeof line, f) && hex_read(line, k->public) == 128)
            k->present = 1;
        fclose(f);
    }
}

static int save(int n) {
    char path[4096];
    path_of(path, sizeof path, n, "attr");
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    hex_write(f, keys[n].id, keys[n].id_len);
    hex_write(f, keys[n].label, keys[n].label_len);
    hex_write(f, keys[n].public, 128);
    return fclose(f) == 0;
}

static EVP_PKEY *private_key(int n) {
    char path[4096];
    path_of(path, sizeof path, n, "pem");
    FILE *f = fopen(path, "r");
    if (!f || !engine())
        return 0;
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, 0, 0, 0);
    fclose(f);
    return pkey;
}

/* ---- handles and sessions ---- */

static int is_ours(CK_ULONG handle) {
    return handle >= HANDLE_BASE && handle < HANDLE_BASE + 2 * MAX_KEYS;
}

/* The key of a handle; *private says which half. */
static KEY *key_of(CK_ULONG handle, int *private, int *index) {
    if (!is_ours(handle))
        return 0;
    int n = (int)((handle - HANDLE_BASE) / 2);
    reload();
    if (!keys[n].present)
        return 0;
    *private = ((handle - HANDLE_BASE) % 2) == 0;
    if (index)
        *index = n;
    return &keys[n];
}

static SESSION *session_of(CK_ULONG handle, int create) {
    SESSION *free_slot = 0;
    for (int i = 0; i < MAX_SESSIONS; i++) {
        if (sessions[i].used && sessions[i].session == handle)
            return &sessions[i];
        if (!sessions[i].used && !free_slot)
            free_slot = &sessions[i];
    }
    if (!create || !free_slot)
        return 0;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = 1;
    free_slot->session = handle;
    return free_slot;
}

/* Logged in as the user; *rw says whether the session may write. */
static int logged_in(CK_ULONG session, int *rw) {
    SESSION_INFO info;
    typedef CK_RV (*fn)(CK_ULONG, SESSION_INFO *);
    if (REAL(GET_SESSION_INFO, fn)(session, &info) != CKR_OK)
        return 0;
    if (rw)
        *rw = info.state == CKS_RW_USER_FUNCTIONS;
    return info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
}

/* ---- attributes ---- */

static CK_ULONG as_ulong(const ATTRIBUTE *a) {
    return a->len == sizeof(CK_ULONG) ? *(const CK_ULONG *)a->value : UNAVAILABLE;
}

static int as_bool(const ATTRIBUTE *a) {
    return a->len == 1 ? *(const unsigned char *)a->value != 0 : -1;
}

/* The value of attribute `type` of a key half, or 0 when it has none (CKA_VALUE of the private
 * half is "sensitive": *sensitive is set). */
static const void *attribute(const KEY *k, int private, CK_ULONG type, CK_ULONG *len,
                             int *sensitive) {
    static CK_ULONG ulong;
    static unsigned char yes = 1, no = 0;
    *sensitive = 0;
    switch (type) {
    case CKA_CLASS:
        ulong = private ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY;
        *len = sizeof ulong;
        return &ulong;
    case CKA_KEY_TYPE:
        ulong = CKK_GOSTR3410_512;
        *len = sizeof ulong;
        return &ulong;
    case CKA_ID:
        *len = k->id_len;
        return k->id;
    case CKA_LABEL:
        *len = k->label_len;
        return k->label;
    case CKA_GOSTR3410_PARAMS:
        return paramset(len);
    case CKA_GOSTR3411_PARAMS:
        return hash_params(len);
    case CKA_VALUE:
        if (private) {
            *sensitive = 1;
            return 0;
        }
        /* GOST_TOKEN_FAULT=value: a broken token that gives half a public key. */
        *len = fault("value") ? 64 : 128;
        return k->public;
    case CKA_TOKEN: case CKA_LOCAL: case CKA_MODIFIABLE:
        *len = 1;
        return &yes;
    case CKA_PRIVATE: case CKA_SIGN: case CKA_SENSITIVE: case CKA_ALWAYS_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE:
        *len = 1;
        return private ? &yes : &no;
    case CKA_VERIFY:
        *len = 1;
        return private ? &no : &yes;
    case CKA_EXTRACTABLE: case CKA_DERIVE: case CKA_ENCRYPT: case CKA_DECRYPT: case CKA_WRAP:
    case CKA_UNWRAP: case CKA_SIGN_RECOVER: case CKA_VERIFY_RECOVER: case CKA_ALWAYS_AUTHENTICATE:
        *len = 1;
        return &no;
    default:
        return 0;
    }
}

static int matches(const KEY *k, int private, const ATTRIBUTE *tmpl, CK_ULONG count) {
    for (CK_ULONG i = 0; i < count; i++) {
        CK_ULONG len;
        int sensitive;
        const void *value = attribute(k, private, tmpl[i].type, &len, &sensitive);
        if (!value || len != tmpl[i].len || (len && memcmp(value, tmpl[i].value, len) != 0))
            return 0;
    }
    return 1;
}

static const ATTRIBUTE *find(const ATTRIBUTE *tmpl, CK_ULONG count, CK_ULONG type) {
    for (CK_ULONG i = 0; tmpl && i < count; i++)
        if (tmpl[i].type == type)
            return &tmpl[i];
    return 0;
}

/* ---- the wrapped functions ---- */

static CK_RV mechanism_list(CK_ULONG slot, CK_ULONG *list, CK_ULONG *count) {
    typedef CK_RV (*fn)(CK_ULONG, CK_ULONG *, CK_ULONG *);
    CK_ULONG n = 0;
    CK_RV rv = REAL(GET_MECHANISM_LIST, fn)(slot, 0, &n);
    if (rv != CKR_OK || !count)
        return rv == CKR_OK ? CKR_ARGUMENTS_BAD : rv;
    if (!list) {
        *count = n + 2;
        return CKR_OK;
    }
    if (*count < n + 2) {
        *count = n + 2;
        return CKR_BUFFER_TOO_SMALL;
    }
    rv = REAL(GET_MECHANISM_LIST, fn)(slot, list, &n);
    if (rv != CKR_OK)
        return rv;
    list[n] = CKM_GOSTR3410_512_KEY_PAIR_GEN;
    list[n + 1] = CKM_GOSTR3410_512;
    *count = n + 2;
    return CKR_OK;
}

static CK_RV mechanism_info(CK_ULONG slot, CK_ULONG type, MECHANISM_INFO *info) {
    typedef CK_RV (*fn)(CK_ULONG, CK_ULONG, MECHANISM_INFO *);
    if (type != CKM_GOSTR3410_512_KEY_PAIR_GEN && type != CKM_GOSTR3410_512)
        return REAL(GET_MECHANISM_INFO, fn)(slot, type, info);
    if (!info)
        return CKR_ARGUMENTS_BAD;
    info->min = info->max = 512;
    info->flags = CKF_HW | (type == CKM_GOSTR3410_512 ? CKF_SIGN | CKF_VERIFY
                                                      : CKF_GENERATE_KEY_PAIR);
    return CKR_OK;
}

static CK_RV generate_key_pair(CK_ULONG session, MECHANISM *mech, ATTRIBUTE *pub,
                               CK_ULONG pub_count, ATTRIBUTE *priv, CK_ULONG priv_count,
                               CK_ULONG *pub_handle, CK_ULONG *priv_handle) {
    typedef CK_RV (*fn)(CK_ULONG, MECHANISM *, ATTRIBUTE *, CK_ULONG, ATTRIBUTE *, CK_ULONG,
                        CK_ULONG *, CK_ULONG *);
    if (!mech || mech->mechanism != CKM_GOSTR3410_512_KEY_PAIR_GEN)
        return REAL(GENERATE_KEY_PAIR, fn)(session, mech, pub, pub_count, priv, priv_count,
                                           pub_handle, priv_handle);
    if (!pub_handle || !priv_handle)
        return CKR_ARGUMENTS_BAD;
    int rw = 0;
    if (!logged_in(session, &rw))
        return CKR_USER_NOT_LOGGED_IN;
    if (!rw)
        return CKR_SESSION_READ_ONLY;
    const ATTRIBUTE *params = find(pub, pub_count, CKA_GOSTR3410_PARAMS);
    if (!params)
        return CKR_TEMPLATE_INCOMPLETE;
    CK_ULONG known_len;
    const unsigned char *known = paramset(&known_len);
    if (params->len != known_len || memcmp(params->value, known, known_len) != 0)
        return CKR_DOMAIN_PARAMS_INVALID;
    const ATTRIBUTE *hash = find(pub, pub_count, CKA_GOSTR3411_PARAMS);
    known = hash_params(&known_len);
    if (hash && (hash->len != known_len || memcmp(hash->value, known, known_len) != 0))
        return CKR_DOMAIN_PARAMS_INVALID;
    const ATTRIBUTE *type = find(pub, pub_count, CKA_KEY_TYPE);
    if (type && as_ulong(type) != CKK_GOSTR3410_512)
        return CKR_TEMPLATE_INCONSISTENT;
    const ATTRIBUTE *extractable = find(priv, priv_count, CKA_EXTRACTABLE);
    if (extractable && as_bool(extractable) == 1)
        return CKR_TEMPLATE_INCONSISTENT; /* this token never lets a private key out */

    pthread_mutex_lock(&lock);
    reload();
    int n = 0;
    while (n < MAX_KEYS && keys[n].present)
        n++;
    CK_RV rv = CKR_GENERAL_ERROR;
    EVP_PKEY *pkey = 0;
    EVP_PKEY_CTX *ctx = 0;
    unsigned char *der = 0;
    if (n == MAX_KEYS || !engine())
        goto done;
    ctx = EVP_PKEY_CTX_new_id(NID_id_GostR3410_2012_512, gost);
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_ctrl_str(ctx, "paramset", "A") <= 0 || EVP_PKEY_keygen(ctx, &pkey) <= 0)
        goto done;
    /* The SubjectPublicKeyInfo ends with the BIT STRING's OCTET STRING 04 81 80 || x||y (LE). */
    int len = i2d_PUBKEY(pkey, &der);
    if (len < 131 || memcmp(der + len - 131, "\x04\x81\x80", 3) != 0)
        goto done;
    KEY *k = &keys[n];
    memset(k, 0, sizeof *k);
    memcpy(k->public, der + len - 128, 128);
    const ATTRIBUTE *id = find(priv, priv_count, CKA_ID);
    if (!id)
        id = find(pub, pub_count, CKA_ID);
    const ATTRIBUTE *label = find(priv, priv_count, CKA_LABEL);
    if (!label)
        label = find(pub, pub_count, CKA_LABEL);
    if ((id && id->len > MAX_BYTES) || (label && label->len > MAX_BYTES)) {
        rv = CKR_TEMPLATE_INCONSISTENT;
        goto done;
    }
    if (id)
        memcpy(k->id, id->value, k->id_len = id->len);
    if (label)
        memcpy(k->label, label->value, k->label_len = label->len);
    char path[4096];
    path_of(path, sizeof path, n, "pem");
    FILE *f = fopen(path, "w");
    if (!f)
        goto done;
    int written = PEM_write_PrivateKey(f, pkey, 0, 0, 0, 0, 0);
    if (fclose(f) != 0 || !written || !save(n))
        goto done;
    k->present = 1;
    *priv_handle = HANDLE_BASE + 2 * (CK_ULONG)n;
    *pub_handle = *priv_handle + 1;
    rv = CKR_OK;
done:
    OPENSSL_free(der);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    pthread_mutex_unlock(&lock);
    return rv;
}

static CK_RV find_init(CK_ULONG session, ATTRIBUTE *tmpl, CK_ULONG count) {
    typedef CK_RV (*fn)(CK_ULONG, ATTRIBUTE *, CK_ULONG);
    CK_RV rv = REAL(FIND_OBJECTS_INIT, fn)(session, tmpl, count);
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&lock);
    SESSION *s = session_of(session, 1);
    if (s) {
        s->finding = 1;
        s->count = s->next = 0;
        int user = logged_in(session, 0);
        reload();
        for (int n = 0; n < MAX_KEYS; n++) {
            if (!keys[n].present)
                continue;
            if (user && matches(&keys[n], 1, tmpl, count))
                s->found[s->count++] = HANDLE_BASE + 2 * (CK_ULONG)n;
            if (matches(&keys[n], 0, tmpl, count))
                s->found[s->count++] = HANDLE_BASE + 2 * (CK_ULONG)n + 1;
        }
    }
    pthread_mutex_unlock(&lock);
    return CKR_OK;
}

static CK_RV find_objects(CK_ULONG session, CK_ULONG *out, CK_ULONG max, CK_ULONG *count) {
    typedef CK_RV (*fn)(CK_ULONG, CK_ULONG *, CK_ULONG, CK_ULONG *);
    if (!out || !count)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&lock);
    SESSION *s = session_of(session, 0);
    CK_ULONG given = 0;
    while (s && s->finding && s->next < s->count && given < max)
        out[given++] = s->found[s->next++];
    pthread_mutex_unlock(&lock);
    /* The rest of the batch is SoftHSM2's: a short batch ends a search. */
    CK_ULONG more = 0;
    CK_RV rv = given < max ? REAL(FIND_OBJECTS, fn)(session, out + given, max - given, &more)
                           : CKR_OK;
    if (rv != CKR_OK && given == 0)
        return rv;
    *count = given + (rv == CKR_OK ? more : 0);
    return CKR_OK;
}

static CK_RV find_final(CK_ULONG session) {
    typedef CK_RV (*fn)(CK_ULONG);
    pthread_mutex_lock(&lock);
    SESSION *s = session_of(session, 0);
    if (s)
        s->finding = 0;
    pthread_mutex_unlock(&lock);
    return REAL(FIND_OBJECTS_FINAL, fn)(session);
}

static CK_RV get_attribute_value(CK_ULONG session, CK_ULONG object, ATTRIBUTE *tmpl,
                                 CK_ULONG count) {
    typedef CK_RV (*fn)(CK_ULONG, CK_ULONG, ATTRIBUTE *, CK_ULONG);
    if (!is_ours(object))
        return REAL(GET_ATTRIBUTE_VALUE, fn)(session, object, tmpl, count);
    pthread_mutex_lock(&lock);
    int private;
    KEY *k = key_of(object, &private, 0);
    CK_RV rv = CKR_OK;
    if (!k || (private && !logged_in(session, 0)))
        rv = CKR_OBJECT_HANDLE_INVALID;
    for (CK_ULONG i = 0; rv != CKR_OBJECT_HANDLE_INVALID && i < count; i++) {
        CK_ULONG len = 0;
        int sensitive;
        const void *value = attribute(k, private, tmpl[i].type, &len, &sensitive);
        if (!value) {
            tmpl[i].len = UNAVAILABLE;
            rv = sensitive ? CKR_ATTRIBUTE_SENSITIVE : CKR_ATTRIBUTE_TYPE_INVALID;
        } else if (!tmpl[i].value) {
            tmpl[i].len = len;
        } else if (tmpl[i].len < len) {
            tmpl[i].len = UNAVAILABLE;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            memcpy(tmpl[i].value, value, len);
            tmpl[i].len = len;
        }
    }
    pthread_mutex_unlock(&lock);
    return rv;
}

static CK_RV set_attribute_value(CK_ULONG session, CK_ULONG object, ATTRIBUTE *tmpl,
                                 CK_ULONG count) {
    typedef CK_RV (*fn)(CK_ULONG, CK_ULONG, ATTRIBUTE *, CK_ULONG);
    if (!is_ours(object))
        return REAL(SET_ATTRIBUTE_VALUE, fn)(session, object, tmpl, count);
    int rw = 0;
    if (!logged_in(session, &rw))
        return CKR_USER_NOT_LOGGED_IN;
    if (!rw)
        return CKR_SESSION_READ_ONLY;
    pthread_mutex_lock(&lock);
    int private, n;
    KEY *k = key_of(object, &private, &n);
    CK_RV rv = k ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
    for (CK_ULONG i = 0; rv == CKR_OK && i < count; i++) {
        if (tmpl[i].len > MAX_BYTES)
            rv = CKR_TEMPLATE_INCONSISTENT;
        else if (tmpl[i].type == CKA_ID)
            memcpy(k->id, tmpl[i].value, k->id_len = tmpl[i].len);
        else if (tmpl[i].type == CKA_LABEL)
            memcpy(k->label, tmpl[i].value, k->label_len = tmpl[i].len);
        else
            rv = CKR_ATTRIBUTE_READ_ONLY;
    }
    /* The pair shares one attribute file: the id names both halves, as the tests use it. */
    if (rv == CKR_OK && !save(n))
        rv = CKR_GENERAL_ERROR;
    pthread_mutex_unlock(&lock);
    return rv;
}

static CK_RV destroy_object(CK_ULONG session, CK_ULONG object) {
    typedef CK_RV (*fn)(CK_ULONG, CK_ULONG);
    if (!is_ours(object))
        return REAL(DESTROY_OBJECT, fn)(session, object);
    int rw = 0;
    if (!logged_in(session, &rw))
        return CKR_USER_NOT_LOGGED_IN;
    if (!rw)
        return CKR_SESSION_READ_ONLY;
    pthread_mutex_lock(&lock);
    int private, n;
    CK_RV rv = key_of(object, &private, &n) ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
    if (rv == CKR_OK) {
        /* Destroying either half removes the pair. */
        char path[4096];
        path_of(path, sizeof path, n, "attr");
        unlink(path);
        path_of(path, sizeof path, n, "pem");
        unlink(path);
    }
    pthread_mutex_unlock(&lock);
    return rv;
}

static CK_RV sign_init(CK_ULONG session, MECHANISM *mech, CK_ULONG key) {
    typedef CK_RV (*fn)(CK_ULONG, MECHANISM *, CK_ULONG);
    if (!is_ours(key)) {
        if (mech && mech->mechanism == CKM_GOSTR3410_512)
            return CKR_KEY_TYPE_INCONSISTENT;
        return REAL(SIGN_INIT, fn)(session, mech, key);
    }
    if (!mech || mech->mechanism != CKM_GOSTR3410_512)
        return CKR_MECHANISM_INVALID;
    if (!logged_in(session, 0))
        return CKR_USER_NOT_LOGGED_IN;
    pthread_mutex_lock(&lock);
    int private;
    CK_RV rv = CKR_OK;
    if (!key_of(key, &private, 0))
        rv = CKR_KEY_HANDLE_INVALID;
    else if (!private)
        rv = CKR_KEY_TYPE_INCONSISTENT;
    SESSION *s = rv == CKR_OK ? session_of(session, 1) : 0;
    if (rv == CKR_OK && !s)
        rv = CKR_GENERAL_ERROR;
    if (s) {
        s->signing = 1;
        s->key = key;
    }
    pthread_mutex_unlock(&lock);
    return rv;
}

static CK_RV sign(CK_ULONG session, unsigned char *data, CK_ULONG len, unsigned char *out,
                  CK_ULONG *out_len) {
    typedef CK_RV (*fn)(CK_ULONG, unsigned char *, CK_ULONG, unsigned char *, CK_ULONG *);
    pthread_mutex_lock(&lock);
    SESSION *s = session_of(session, 0);
    if (!s || !s->signing) {
        pthread_mutex_unlock(&lock);
        return REAL(SIGN, fn)(session, data, len, out, out_len);
    }
    CK_RV rv = CKR_GENERAL_ERROR;
    EVP_PKEY *pkey = 0;
    EVP_PKEY_CTX *ctx = 0;
    if (!out_len) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (!out) {
        *out_len = 128;
        pthread_mutex_unlock(&lock);
        return CKR_OK; /* a size query keeps the operation */
    } else if (*out_len < 128) {
        *out_len = 128;
        pthread_mutex_unlock(&lock);
        return CKR_BUFFER_TOO_SMALL;
    } else if (len != 64) {
        rv = CKR_DATA_LEN_RANGE;
    } else if (fault("sign")) {
        rv = CKR_FUNCTION_FAILED;
    } else {
        int private;
        size_t sig_len = 128;
        pkey = key_of(s->key, &private, 0) ? private_key((int)((s->key - HANDLE_BASE) / 2)) : 0;
        ctx = pkey ? EVP_PKEY_CTX_new(pkey, gost) : 0;
        if (ctx && EVP_PKEY_sign_init(ctx) > 0 &&
            EVP_PKEY_sign(ctx, out, &sig_len, data, len) > 0 && sig_len == 128) {
            *out_len = 128;
            rv = CKR_OK;
        }
    }
    s->signing = 0;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    pthread_mutex_unlock(&lock);
    return rv;
}

static CK_RV close_session(CK_ULONG session) {
    typedef CK_RV (*fn)(CK_ULONG);
    pthread_mutex_lock(&lock);
    SESSION *s = session_of(session, 0);
    if (s)
        s->used = 0;
    pthread_mutex_unlock(&lock);
    return REAL(CLOSE_SESSION, fn)(session);
}

CK_RV C_GetFunctionList(FUNCTION_LIST **out) {
    if (!loaded) {
        const char *path = getenv("GOST_TOKEN_REAL_MODULE");
        void *lib = dlopen(path ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
        get_list_fn get = lib ? (get_list_fn)dlsym(lib, "C_GetFunctionList") : 0;
        FUNCTION_LIST *list = 0;
        if (!get || get(&list) != 0 || !list)
            return CKR_GENERAL_ERROR;
        real = *list;
        ours = real;
        ours.f[GET_MECHANISM_LIST] = (void *)mechanism_list;
        ours.f[GET_MECHANISM_INFO] = (void *)mechanism_info;
        ours.f[CLOSE_SESSION] = (void *)close_session;
        ours.f[DESTROY_OBJECT] = (void *)destroy_object;
        ours.f[GET_ATTRIBUTE_VALUE] = (void *)get_attribute_value;
        ours.f[SET_ATTRIBUTE_VALUE] = (void *)set_attribute_value;
        ours.f[FIND_OBJECTS_INIT] = (void *)find_init;
        ours.f[FIND_OBJECTS] = (void *)find_objects;
        ours.f[FIND_OBJECTS_FINAL] = (void *)find_final;
        ours.f[SIGN_INIT] = (void *)sign_init;
        ours.f[SIGN] = (void *)sign;
        ours.f[GENERATE_KEY_PAIR] = (void *)generate_key_pair;
        loaded = 1;
    }
    *out = &ours;
    return CKR_OK;
}
