/*
 * Test double (docs/tokens.md): a PKCS#11 module that forwards every call to SoftHSM2 and adds
 * the one thing SoftHSM2 lacks, a user-PIN retry counter with lockout (3 tries). It wraps only
 * C_GetTokenInfo (CKF_USER_PIN_COUNT_LOW / FINAL_TRY / LOCKED, PKCS#11 v2.40 §3.2) and C_Login
 * (CKR_PIN_LOCKED once the counter runs out, §5.6). The real module is PIN_LIMIT_REAL_MODULE,
 * default /usr/lib/softhsm/libsofthsm2.so. Built by tests/it/softhsm.rs with `cc -shared`.
 */
#include <dlfcn.h>
#include <stdlib.h>

typedef unsigned long CK_ULONG;
typedef CK_ULONG CK_RV;
typedef struct { unsigned char major, minor; } CK_VERSION;
/* CK_FUNCTION_LIST of v2.40: the version, then 68 entry points in the order of pkcs11f.h. */
typedef struct { CK_VERSION version; void *f[68]; } FUNCTION_LIST;
/* The head of CK_TOKEN_INFO: label, manufacturerID, model, serialNumber, then flags. */
typedef struct { unsigned char text[96]; CK_ULONG flags; } TOKEN_INFO_HEAD;

#define GET_TOKEN_INFO 6
#define LOGIN 18
#define CKU_USER 1UL
#define CKR_PIN_INCORRECT 0xA0UL
#define CKR_PIN_LOCKED 0xA4UL
#define CKF_USER_PIN_COUNT_LOW 0x10000UL
#define CKF_USER_PIN_FINAL_TRY 0x20000UL
#define CKF_USER_PIN_LOCKED 0x40000UL
#define LIMIT 3

static FUNCTION_LIST real, ours;
static int loaded, failures;

typedef CK_RV (*get_list_fn)(FUNCTION_LIST **);
typedef CK_RV (*token_info_fn)(CK_ULONG, void *);
typedef CK_RV (*login_fn)(CK_ULONG, CK_ULONG, unsigned char *, CK_ULONG);

static CK_RV token_info(CK_ULONG slot, void *info) {
    CK_RV rv = ((token_info_fn)real.f[GET_TOKEN_INFO])(slot, info);
    if (rv == 0) {
        TOKEN_INFO_HEAD *head = info;
        head->flags &= ~(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
        if (failures >= LIMIT)
            head->flags |= CKF_USER_PIN_LOCKED;
        else if (failures == LIMIT - 1)
            head->flags |= CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_COUNT_LOW;
        else if (failures > 0)
            head->flags |= CKF_USER_PIN_COUNT_LOW;
    }
    return rv;
}

static CK_RV login(CK_ULONG session, CK_ULONG user, unsigned char *pin, CK_ULONG len) {
    if (user != CKU_USER)
        return ((login_fn)real.f[LOGIN])(session, user, pin, len);
    if (failures >= LIMIT)
        return CKR_PIN_LOCKED;
    CK_RV rv = ((login_fn)real.f[LOGIN])(session, user, pin, len);
    if (rv == CKR_PIN_INCORRECT && ++failures >= LIMIT)
        return CKR_PIN_LOCKED;
    if (rv == 0)
        failures = 0;
    return rv;
}

CK_RV C_GetFunctionList(FUNCTION_LIST **out) {
    if (!loaded) {
        const char *path = getenv("PIN_LIMIT_REAL_MODULE");
        void *lib = dlopen(path ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
        get_list_fn get = lib ? (get_list_fn)dlsym(lib, "C_GetFunctionList") : 0;
        FUNCTION_LIST *list = 0;
        if (!get || get(&list) != 0 || !list)
            return 5; /* CKR_GENERAL_ERROR */
        real = *list;
        ours = real;
        ours.f[GET_TOKEN_INFO] = (void *)token_info;
        ours.f[LOGIN] = (void *)login;
        loaded = 1;
    }
    *out = &ours;
    return 0;
}
