//! The two raw PKCS#11 calls, for what cryptoki 0.12 cannot express:
//!
//! - `C_SignInit` + `C_Sign` (PKCS#11 v2.40 §5.12) with `CKM_GOSTR3410` (0x1201, GOST R
//!   34.10-2001 and 2012-256 on a digest). cryptoki builds `MechanismType` only from the numbers
//!   it knows or from vendor-defined numbers (`>= CKM_VENDOR_DEFINED`), and 0x1201 is neither.
//! - `C_GenerateKeyPair` (§5.14) with templates holding `CKA_GOSTR3410_PARAMS` and
//!   `CKA_GOSTR3411_PARAMS` (0x250, 0x251): standard attributes that cryptoki's `Attribute`
//!   has no variant for, and that GOST key generation needs.
//!
//! Everything else (sessions, login, object handles, reading and setting attributes, the TC26
//! vendor signing mechanism) stays with cryptoki; these calls borrow cryptoki's session handle
//! and use the same loaded module (the OS gives the same instance for the same file).
#![allow(unsafe_code)]

use std::path::Path;
use std::ptr;

use cryptoki::error::{Rv, RvError};
use cryptoki::object::ObjectHandle;
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_ATTRIBUTE_TYPE, CK_FUNCTION_LIST, CK_MECHANISM, CK_MECHANISM_TYPE,
    CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CK_ULONG,
};

/// One attribute of a template: its type and its value's bytes as the module reads them
/// (`CK_BBOOL` one byte, `CK_ULONG` in native order, byte arrays as they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawAttribute {
    pub kind: CK_ATTRIBUTE_TYPE,
    pub value: Vec<u8>,
}

impl RawAttribute {
    /// A `CK_BBOOL` attribute.
    pub(crate) fn flag(kind: CK_ATTRIBUTE_TYPE, on: bool) -> Self {
        Self { kind, value: vec![u8::from(on)] }
    }

    /// A `CK_ULONG` attribute (`CKA_CLASS`, `CKA_KEY_TYPE`).
    pub(crate) fn number(kind: CK_ATTRIBUTE_TYPE, value: CK_ULONG) -> Self {
        Self { kind, value: value.to_ne_bytes().to_vec() }
    }

    /// A byte-array attribute.
    pub(crate) fn bytes(kind: CK_ATTRIBUTE_TYPE, value: &[u8]) -> Self {
        Self { kind, value: value.to_vec() }
    }
}

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

impl RawModule {
    /// Makes a key pair with `mechanism` (no parameter) and the two templates in `session`, a
    /// logged-in read-write session that cryptoki opened on this module. Returns the public and
    /// the private key's handles, or the module's error code.
    pub(crate) fn generate_key_pair(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: CK_MECHANISM_TYPE,
        public: &[RawAttribute],
        private: &[RawAttribute],
    ) -> Result<(ObjectHandle, ObjectHandle), RvError> {
        let Some(generate) = self.list.C_GenerateKeyPair else {
            return Err(RvError::FunctionNotSupported);
        };
        let mut mech = CK_MECHANISM { mechanism, pParameter: ptr::null_mut(), ulParameterLen: 0 };
        let mut public = template(public)?;
        let mut private = template(private)?;
        let (mut public_key, mut private_key): (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) = (0, 0);
        // SAFETY: the templates point into the `RawAttribute` values borrowed for the whole call
        // (the module only reads them), with their lengths; `mech` and the two out-handles live
        // across the call; the session is cryptoki's open session on this module.
        check(unsafe {
            generate(
                session,
                &mut mech,
                public.as_mut_ptr(),
                count(&public)?,
                private.as_mut_ptr(),
                count(&private)?,
                &mut public_key,
                &mut private_key,
            )
        })?;
        // SAFETY: both handles were just returned by this module for objects in this session's
        // token; cryptoki uses them only through the same session.
        Ok(unsafe {
            (ObjectHandle::new_from_raw(public_key), ObjectHandle::new_from_raw(private_key))
        })
    }
}

/// The `CK_ATTRIBUTE` array of a template; it borrows the values of `attributes`.
fn template(attributes: &[RawAttribute]) -> Result<Vec<CK_ATTRIBUTE>, RvError> {
    attributes
        .iter()
        .map(|a| {
            Ok(CK_ATTRIBUTE {
                type_: a.kind,
                pValue: a.value.as_ptr().cast_mut().cast(),
                ulValueLen: CK_ULONG::try_from(a.value.len())
                    .map_err(|_| RvError::AttributeValueInvalid)?,
            })
        })
        .collect()
}

fn count(template: &[CK_ATTRIBUTE]) -> Result<CK_ULONG, RvError> {
    CK_ULONG::try_from(template.len()).map_err(|_| RvError::ArgumentsBad)
}

fn check(rv: cryptoki_sys::CK_RV) -> Result<(), RvError> {
    match Rv::from(rv) {
        Rv::Ok => Ok(()),
        Rv::Error(e) => Err(e),
    }
}
