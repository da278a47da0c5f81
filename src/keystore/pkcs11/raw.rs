//! The one raw PKCS#11 call: `C_SignInit` + `C_Sign` (PKCS#11 v2.40 §5.12) with a mechanism
//! number cryptoki 0.12 cannot express. cryptoki builds `MechanismType` only from the numbers it
//! knows or from vendor-defined numbers (`>= CKM_VENDOR_DEFINED`), and `CKM_GOSTR3410`
//! (0x1201, GOST R 34.10-2001 and 2012-256 on a digest) is neither: it is a standard number
//! that cryptoki does not list. Everything else (sessions, login, object handles, the TC26
//! vendor mechanisms) stays with cryptoki; this call borrows cryptoki's session and key
//! handles and uses the same loaded module (the OS gives the same instance for the same file).
#![allow(unsafe_code)]

use std::path::Path;
use std::ptr;

use cryptoki::error::{Rv, RvError};
use cryptoki_sys::{
    CK_FUNCTION_LIST, CK_MECHANISM, CK_MECHANISM_TYPE, CK_OBJECT_HANDLE, CK_SESSION_HANDLE,
    CK_ULONG,
};

/// The module's own function list, read through a second handle on the same library.
pub(crate) struct RawModule {
    /// Keeps the library loaded while `list` points into it.
    _library: cryptoki_sys::Pkcs11,
    list: CK_FUNCTION_LIST,
}

impl RawModule {
    /// Opens the module at `path` (already loaded by cryptoki) and copies its function list.
    pub(crate) fn load(path: &Path) -> Option<Self> {
        // SAFETY: the library is the PKCS#11 module cryptoki loaded and initialised from the same
        // path; loading it again only raises the OS reference count and runs no new initialiser.
        let library = unsafe { cryptoki_sys::Pkcs11::new(path) }.ok()?;
        let get_list = library.C_GetFunctionList.as_ref().ok()?;
        let mut list: *mut CK_FUNCTION_LIST = ptr::null_mut();
        // SAFETY: `C_GetFunctionList` takes a valid out-pointer (PKCS#11 v2.40 §5.2).
        let rv = unsafe { get_list(&mut list) };
        if !matches!(Rv::from(rv), Rv::Ok) || list.is_null() {
            return None;
        }
        // SAFETY: on success `list` points to the module's static function list, valid while the
        // library is loaded; we keep `library` alive next to the copy.
        let list = unsafe { *list };
        Some(Self { _library: library, list })
    }

    /// Signs `data` with `mechanism` (no parameter) and the private key `key` in `session`,
    /// a logged-in session that cryptoki opened on this module. Returns the module's error code
    /// on failure.
    pub(crate) fn sign(
        &self,
        session: CK_SESSION_HANDLE,
        key: CK_OBJECT_HANDLE,
        mechanism: CK_MECHANISM_TYPE,
        data: &[u8],
    ) -> Result<Vec<u8>, RvError> {
        let (Some(sign_init), Some(sign)) = (self.list.C_SignInit, self.list.C_Sign) else {
            return Err(RvError::FunctionNotSupported);
        };
        let mut mech = CK_MECHANISM { mechanism, pParameter: ptr::null_mut(), ulParameterLen: 0 };
        // SAFETY: `mech` lives across the call and has no parameter; the handles come from
        // cryptoki's open session on this module.
        check(unsafe { sign_init(session, &mut mech, key) })?;
        let data_len = CK_ULONG::try_from(data.len()).map_err(|_| RvError::DataLenRange)?;
        let mut len: CK_ULONG = 0;
        // SAFETY: size query (null output buffer), §5.2 "Conventions for functions returning
        // output in a variable-length buffer"; the module only reads `data`.
        check(unsafe {
            sign(session, data.as_ptr().cast_mut(), data_len, ptr::null_mut(), &mut len)
        })?;
        let mut out = vec![0u8; usize::try_from(len).map_err(|_| RvError::GeneralError)?];
        // SAFETY: `out` has room for `len` bytes as the module asked; it writes back the length.
        check(unsafe {
            sign(session, data.as_ptr().cast_mut(), data_len, out.as_mut_ptr(), &mut len)
        })?;
        out.truncate(usize::try_from(len).map_err(|_| RvError::GeneralError)?);
        Ok(out)
    }
}

fn check(rv: cryptoki_sys::CK_RV) -> Result<(), RvError> {
    match Rv::from(rv) {
        Rv::Ok => Ok(()),
        Rv::Error(e) => Err(e),
    }
}
