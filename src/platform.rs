//! The CPU check at startup. The binary is compiled for a baseline set of instruction-set
//! extensions (by default x86-64-v3: AVX, AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE; all of the
//! build machine's with `-C target-cpu=native`), and the compiler may use them anywhere. On a
//! CPU without one of them the process would die with SIGILL at some arbitrary point; instead
//! `main` calls [`exit_if_cpu_lacks_build_features`] first, which exits with status 2 and a
//! message (scripts/portable_check tries it under an emulated pre-AVX CPU). The heavy kernels
//! do not depend on the baseline: they pick AMX / AVX-512 VNNI / AVX2 / scalar at run time
//! (`township_infer::kernels`).
//!
//! The check itself is assembly: Rust code compiled for the baseline may use its vector
//! instructions even to test bits (LLVM did, in a first version), and
//! `is_x86_feature_detected!` answers `true` without asking the CPU for every feature the
//! binary was compiled with. The features required are worked out at compile time from
//! `cfg!(target_feature)` into CPUID bit masks ([`REQUIRED`]).

// The check runs on Linux on x86-64; elsewhere the tables below are unused.
#![cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    allow(dead_code)
)]

/// Indices into [`REQUIRED`]: CPUID leaf 1 ECX / EDX, leaf 7.0 EBX / ECX, leaf 0x8000_0001
/// ECX, the vector state the OS must save (bit 0: AVX's YMM, bit 1: AVX-512's ZMM and
/// opmasks, from XCR0), leaf 7.1 EAX, leaf 0xD.1 EAX.
const L1C: usize = 0;
const L1D: usize = 1;
const L7B: usize = 2;
const L7C: usize = 3;
const E1C: usize = 4;
const OS: usize = 5;
const L71A: usize = 6;
const LD1A: usize = 7;

/// The CPUID bits of every feature this binary was compiled to assume.
const fn required() -> [u32; 8] {
    let mut r = [0u32; 8];
    macro_rules! bits {
        ($($name:tt => $($reg:ident $bit:literal)+;)*) => {
            $( if cfg!(target_feature = $name) { $( r[$reg] |= 1 << $bit; )+ } )*
        };
    }
    bits! {
        "fxsr" => L1D 24; "sse" => L1D 25; "sse2" => L1D 26;
        "sse3" => L1C 0; "pclmulqdq" => L1C 1; "ssse3" => L1C 9; "fma" => L1C 12 OS 0;
        "cmpxchg16b" => L1C 13; "sse4.1" => L1C 19; "sse4.2" => L1C 20; "movbe" => L1C 22;
        "popcnt" => L1C 23; "aes" => L1C 25; "xsave" => L1C 26; "avx" => L1C 28 OS 0;
        "f16c" => L1C 29 OS 0; "rdrand" => L1C 30;
        "bmi1" => L7B 3; "avx2" => L7B 5 OS 0; "bmi2" => L7B 8; "avx512f" => L7B 16 OS 1;
        "avx512dq" => L7B 17 OS 1; "rdseed" => L7B 18; "adx" => L7B 19;
        "avx512ifma" => L7B 21 OS 1; "avx512cd" => L7B 28 OS 1; "sha" => L7B 29;
        "avx512bw" => L7B 30 OS 1; "avx512vl" => L7B 31 OS 1;
        "avx512vbmi" => L7C 1 OS 1; "avx512vbmi2" => L7C 6 OS 1; "gfni" => L7C 8;
        "vaes" => L7C 9 OS 0; "vpclmulqdq" => L7C 10 OS 0; "avx512vnni" => L7C 11 OS 1;
        "avx512bitalg" => L7C 12 OS 1; "avx512vpopcntdq" => L7C 14 OS 1;
        "avx512bf16" => L71A 5 OS 1;
        "xsaveopt" => LD1A 0; "xsavec" => LD1A 1; "xsaves" => LD1A 3;
        "lzcnt" => E1C 5; "sse4a" => E1C 6;
    }
    r
}

/// See [`required`].
pub static REQUIRED: [u32; 8] = required();

const MESSAGE: &str = "error: this CPU lacks instructions this township-digest binary was built \
for. The default build needs an x86-64-v3 CPU (AVX, AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE: \
Intel Haswell, 2013, AMD Excavator, 2015, and later); a build made with -C target-cpu=native \
runs only on CPUs like the one that built it. Build on this machine for this machine with:\n  \
RUSTFLAGS=\"-C target-cpu=native\" cargo build --release\n";

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
std::arch::global_asm!(
    // td_check_cpu(required: *const [u32; 8], msg: *const u8, len: usize): returns when the
    // CPU has every required bit; otherwise writes msg to stderr and exits with status 2.
    ".pushsection .text.td_check_cpu,\"ax\",@progbits",
    ".globl td_check_cpu",
    ".hidden td_check_cpu",
    ".type td_check_cpu,@function",
    "td_check_cpu:",
    "push rbx",
    "mov r8, rdi",
    "mov r9, rsi",
    "mov r10, rdx",
    "xor eax, eax",
    "xor ecx, ecx",
    "cpuid",
    "mov r11d, eax", // highest basic leaf
    // leaf 1
    "mov eax, 1",
    "xor ecx, ecx",
    "cpuid",
    "mov eax, ecx",
    "and eax, [r8]",
    "cmp eax, [r8]",
    "jne 9f",
    "mov eax, edx",
    "and eax, [r8 + 4]",
    "cmp eax, [r8 + 4]",
    "jne 9f",
    // vector state saved by the OS (XCR0), when AVX or AVX-512 is required
    "mov eax, [r8 + 20]",
    "test eax, eax",
    "jz 2f",
    "bt ecx, 27", // OSXSAVE (ecx: leaf 1)
    "jnc 9f",
    "xor ecx, ecx",
    "xgetbv",
    "mov ecx, eax",
    "and ecx, 6",
    "cmp ecx, 6",
    "jne 9f",
    "test dword ptr [r8 + 20], 2",
    "jz 2f",
    "and eax, 0xE0",
    "cmp eax, 0xE0",
    "jne 9f",
    "2:",
    // leaf 7.0 and 7.1
    "mov eax, [r8 + 8]",
    "or eax, [r8 + 12]",
    "or eax, [r8 + 24]",
    "jz 3f",
    "cmp r11d, 7",
    "jb 9f",
    "mov eax, 7",
    "xor ecx, ecx",
    "cpuid",
    "mov eax, ebx",
    "and eax, [r8 + 8]",
    "cmp eax, [r8 + 8]",
    "jne 9f",
    "mov eax, ecx",
    "and eax, [r8 + 12]",
    "cmp eax, [r8 + 12]",
    "jne 9f",
    "mov eax, 7",
    "mov ecx, 1",
    "cpuid",
    "and eax, [r8 + 24]",
    "cmp eax, [r8 + 24]",
    "jne 9f",
    "3:",
    // leaf 0xD.1
    "mov eax, [r8 + 28]",
    "test eax, eax",
    "jz 4f",
    "cmp r11d, 0xD",
    "jb 9f",
    "mov eax, 0xD",
    "mov ecx, 1",
    "cpuid",
    "and eax, [r8 + 28]",
    "cmp eax, [r8 + 28]",
    "jne 9f",
    "4:",
    // leaf 0x8000_0001
    "mov eax, [r8 + 16]",
    "test eax, eax",
    "jz 5f",
    "mov eax, 0x80000000",
    "xor ecx, ecx",
    "cpuid",
    "cmp eax, 0x80000001",
    "jb 9f",
    "mov eax, 0x80000001",
    "xor ecx, ecx",
    "cpuid",
    "mov eax, ecx",
    "and eax, [r8 + 16]",
    "cmp eax, [r8 + 16]",
    "jne 9f",
    "5:",
    "pop rbx",
    "ret",
    "9:",
    "mov eax, 1", // write(2, msg, len)
    "mov edi, 2",
    "mov rsi, r9",
    "mov rdx, r10",
    "syscall",
    "mov eax, 231", // exit_group(2)
    "mov edi, 2",
    "syscall",
    "ud2",
    ".size td_check_cpu, . - td_check_cpu",
    ".popsection",
);

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
extern "sysv64" {
    fn td_check_cpu(required: *const [u32; 8], msg: *const u8, len: usize);
}

/// Exits with status 2 and a message on stderr when this CPU lacks a feature the binary was
/// compiled to assume. Call it first thing in `main`. (Linux on x86-64; elsewhere it does
/// nothing.)
#[inline(never)]
pub fn exit_if_cpu_lacks_build_features() {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    // SAFETY: td_check_cpu reads the 8 u32 of REQUIRED and the `len` bytes of MESSAGE, uses
    // only CPUID, XGETBV (after checking OSXSAVE) and integer instructions, and either returns
    // with rbx restored (the only callee-saved register it writes) or ends the process.
    unsafe {
        td_check_cpu(&REQUIRED, MESSAGE.as_ptr(), MESSAGE.len())
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_bits_are_those_of_the_build() {
        // The test binary is built like the program: at least x86-64-v3 by default.
        if cfg!(target_feature = "avx2") {
            assert_ne!(REQUIRED[L7B] & (1 << 5), 0);
            assert_ne!(REQUIRED[OS] & 1, 0);
        }
        if !cfg!(target_feature = "avx512f") {
            assert_eq!(REQUIRED[OS] & 2, 0);
        }
        assert_ne!(
            REQUIRED[L1D] & (1 << 26),
            0,
            "sse2 is part of every x86-64 build"
        );
    }

    #[test]
    fn the_machine_that_builds_the_tests_runs_them() {
        // Returns (this process goes on) on the machine that compiled it.
        exit_if_cpu_lacks_build_features();
    }
}
