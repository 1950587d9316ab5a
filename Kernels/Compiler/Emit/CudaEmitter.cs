using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;

namespace GanEngine.Kernels.Compiler.Emit
{
    /// <summary>CUDA C (NVRTC, header-free): builtins, inline PTX for mma.</summary>
    internal sealed class CudaDialect : Dialect
    {
        public static readonly CudaDialect Instance = new CudaDialect();

        public override string Name => "CUDA C";
        public override bool IsCuda => true;
        public override string LongSuffix => "ll";
        public override string ULongSuffix => "ull";
        public override string HelperQualifiers => "static __device__ __forceinline__ ";
        public override string Barrier => "__syncthreads()";

        public override string Primitive(SpecialType type) => type switch
        {
            SpecialType.System_Int32 => "int",
            SpecialType.System_UInt32 => "unsigned int",
            SpecialType.System_Int64 => "long long",
            SpecialType.System_UInt64 => "unsigned long long",
            SpecialType.System_Single => "float",
            SpecialType.System_Double => "double",
            SpecialType.System_Boolean => "bool",
            SpecialType.System_Int16 => "short",
            SpecialType.System_UInt16 => "unsigned short",
            SpecialType.System_Byte => "unsigned char",
            SpecialType.System_SByte => "signed char",
            _ => "int",
        };

        public override string Index(string kind, int axis)
        {
            string c = axis switch { 0 => "x", 1 => "y", _ => "z" };
            string b = kind switch { "ThreadIdx" => "threadIdx", "BlockIdx" => "blockIdx", "BlockDim" => "blockDim", _ => "gridDim" };
            return "((int)" + b + "." + c + ")";
        }

        public override string FloatToInt(SpecialType to, SpecialType from, string value)
        {
            string src = from == SpecialType.System_Double ? "__double2" : "__float2";
            switch (to)
            {
                case SpecialType.System_Int32: return src + "int_rz(" + value + ")";
                case SpecialType.System_UInt32: return src + "uint_rz(" + value + ")";
                case SpecialType.System_Int64: return src + "ll_rz(" + value + ")";
                case SpecialType.System_UInt64: return src + "ull_rz(" + value + ")";
                default: return "((" + Primitive(to) + ")" + src + "int_rz(" + value + "))";
            }
        }

        public override string FloatFromBits(uint bits) => "__int_as_float(0x" + bits.ToString("x8", CultureInfo.InvariantCulture) + ")";

        public override string DoubleFromBits(ulong bits) => "__longlong_as_double(0x" + bits.ToString("x16", CultureInfo.InvariantCulture) + "ll)";

        public override string PointerType(string elementType, bool readOnly, bool shared, bool restrict) =>
            (readOnly ? "const " : "") + elementType + "* " + (restrict ? "__restrict__ " : "");

        public override string Math(string name, SpecialType type, IReadOnlyList<string> a, ISet<string> needs)
        {
            bool d = type == SpecialType.System_Double;
            bool i = type is SpecialType.System_Int32;
            bool u = type is SpecialType.System_UInt32;
            string args = string.Join(", ", a);
            switch (name)
            {
                case "Max" when i || u: needs.Add(u ? "0max_u" : "0max_i"); return (u ? "ge_max_u(" : "ge_max_i(") + args + ")";
                case "Min" when i || u: needs.Add(u ? "0min_u" : "0min_i"); return (u ? "ge_min_u(" : "ge_min_i(") + args + ")";
                case "Clamp" when i: needs.Add("0max_i"); needs.Add("0min_i"); return "ge_min_i(ge_max_i(" + a[0] + ", " + a[1] + "), " + a[2] + ")";
                case "Clamp": return "fminf(fmaxf(" + a[0] + ", " + a[1] + "), " + a[2] + ")";
                case "Abs" when i: needs.Add("0abs_i"); return "ge_abs_i(" + args + ")";
                case "DivCeil": needs.Add("0div_ceil"); return "ge_div_ceil(" + args + ")";
                case "FloatAsInt": return "__float_as_int(" + args + ")";
                case "IntAsFloat": return "__int_as_float(" + args + ")";
                case "FloatAsUInt": return "__float_as_uint(" + args + ")";
                case "UIntAsFloat": return "__uint_as_float(" + args + ")";
                case "PopCount": return "__popc(" + args + ")";
                case "LeadingZeroCount": return "__clz((int)(" + args + "))";
            }
            string f = name switch
            {
                "Max" => "fmax", "Min" => "fmin", "Abs" => "fabs", "Sqrt" => "sqrt", "Rsqrt" => "rsqrt", "Exp" => "exp",
                "Exp2" => "exp2", "Log" => "log", "Log2" => "log2", "Pow" => "pow", "Tanh" => "tanh", "Sin" => "sin",
                "Cos" => "cos", "Floor" => "floor", "Ceil" => "ceil", "Round" => "round", "Rint" => "rint", "Trunc" => "trunc",
                "Fma" => "fma", _ => name,
            };
            return f + (d ? "" : "f") + "(" + args + ")";
        }

        public override string Atomic(string name, SpecialType type, bool shared, string address, IReadOnlyList<string> a, ISet<string> needs)
        {
            bool f = type == SpecialType.System_Single;
            switch (name)
            {
                case "Add": return "atomicAdd(" + address + ", " + a[0] + ")";
                case "Exchange": return "atomicExch(" + address + ", " + a[0] + ")";
                case "Max" when f: needs.Add("atomic_max_f"); return "ge_atomic_max_f(" + address + ", " + a[0] + ")";
                case "Min" when f: needs.Add("atomic_min_f"); return "ge_atomic_min_f(" + address + ", " + a[0] + ")";
                case "Max": return "atomicMax(" + address + ", " + a[0] + ")";
                case "Min": return "atomicMin(" + address + ", " + a[0] + ")";
                case "CompareExchange" when f:
                    return "__int_as_float(atomicCAS((int*)(" + address + "), __float_as_int(" + a[0] + "), __float_as_int(" + a[1] + ")))";
                case "CompareExchange": return "atomicCAS(" + address + ", " + a[0] + ", " + a[1] + ")";
                default: return "/* unknown atomic */0";
            }
        }

        public override string Warp(string name, SpecialType valueType, IReadOnlyList<string> a, ISet<string> needs)
        {
            switch (name)
            {
                case "Shuffle": return "__shfl_sync(0xffffffffu, " + a[0] + ", " + a[1] + ")";
                case "ShuffleDown": return "__shfl_down_sync(0xffffffffu, " + a[0] + ", " + a[1] + ")";
                case "ShuffleUp": return "__shfl_up_sync(0xffffffffu, " + a[0] + ", " + a[1] + ")";
                case "ShuffleXor": return "__shfl_xor_sync(0xffffffffu, " + a[0] + ", " + a[1] + ")";
                case "All": return "(__all_sync(0xffffffffu, " + a[0] + ") != 0)";
                case "Any": return "(__any_sync(0xffffffffu, " + a[0] + ") != 0)";
                case "Ballot": return "__ballot_sync(0xffffffffu, " + a[0] + ")";
                default: return "/* unknown warp op */0";
            }
        }

        public override string Mma(string name, IReadOnlyList<string> a, ISet<string> needs)
        {
            string fn = name == "Tf32M16N8K8" ? "mma_tf32" : "mma_bf16";
            needs.Add(fn);
            return "ge_" + fn + "(" + string.Join(", ", a) + ")";
        }

        public override string AsyncCopy(string name, IReadOnlyList<string> a, ISet<string> needs)
        {
            needs.Add("0shared_u32");
            needs.Add("cp_async");
            return name switch
            {
                // The shared window address of the view is one non-volatile asm (computed once per kernel); each copy adds its byte offset.
                // The two-part form adds its offset to a pointer to the base: ((src + base) + offset) shares the base's address
                // between copies and folds a constant offset into the instruction.
                "Float" when a.Count == 6 => "ge_cp_async4(ge_shared_u32(" + a[0] + ") + 4u * (unsigned int)(" + a[1] + "), " + a[2] + " + (" + a[3] + ") + (" + a[4] + "), " + a[5] + ")",
                "Float" => "ge_cp_async4(ge_shared_u32(" + a[0] + ") + 4u * (unsigned int)(" + a[1] + "), " + a[2] + " + (" + a[3] + "), " + a[4] + ")",
                "Float4" => "ge_cp_async16(ge_shared_u32(" + a[0] + ") + 4u * (unsigned int)(" + a[1] + "), " + a[2] + " + (" + a[3] + ") + (" + a[4] + "), " + a[5] + ")",
                "Commit" => "ge_cp_async_commit()",
                _ => "ge_cp_async_wait(" + a[0] + ")",
            };
        }

        public override string Wgmma(string name, IReadOnlyList<string> a, ISet<string> needs)
        {
            needs.Add("0shared_u32");
            needs.Add("wgmma");
            switch (name)
            {
                case "Fence": return "GE_WG_ASM(\"wgmma.fence.sync.aligned;\\n\" ::: \"memory\")";
                case "Commit": return "GE_WG_ASM(\"wgmma.commit_group.sync.aligned;\\n\" ::: \"memory\")";
                case "SharedFence": return "GE_WG_ASM(\"fence.proxy.async.shared::cta;\\n\" ::: \"memory\")";
                case "Wait": return "ge_wgmma_wait(" + a[0] + ")";
                case "AlignedBase": return "ge_wgmma_aligned_base(" + a[0] + ")";
            }
            // Tf32M64N128K8(acc, accOffset, shared, aOffset, bOffset, groupStride, accumulate): the 64 accumulators
            // are named one by one (a constant offset keeps the array in registers).
            var sb = new System.Text.StringBuilder();
            sb.Append("do { unsigned long long ge_da = ge_wgmma_desc(&(").Append(a[2]).Append(")[").Append(a[3]).Append("], ").Append(a[5]).Append("); ");
            sb.Append("unsigned long long ge_db = ge_wgmma_desc(&(").Append(a[2]).Append(")[").Append(a[4]).Append("], ").Append(a[5]).Append("); ");
            sb.Append("int ge_ac = (").Append(a[6]).Append("); ");
            sb.Append("GE_WG_ASM(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, %66, 0;\\nwgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {");
            for (int i = 0; i < 64; i++)
            {
                sb.Append(i == 0 ? "" : ",").Append('%').Append(i);
            }
            sb.Append("}, %64, %65, p, 1, 1;\\n}\\n\" : ");
            for (int i = 0; i < 64; i++)
            {
                sb.Append(i == 0 ? "" : ", ").Append("\"+f\"(").Append(a[0]).Append("[(").Append(a[1]).Append(") + ").Append(i).Append("])");
            }
            sb.Append(" : \"l\"(ge_da), \"l\"(ge_db), \"r\"(ge_ac)); } while (0)");
            return sb.ToString();
        }

        public override string PreludeFor(string need) => need switch
        {
            // The shared-window address of a shared pointer; a non-volatile asm, so one per kernel for a given view.
            "0shared_u32" =>
                "static __device__ __forceinline__ unsigned int ge_shared_u32(const float* p)\n{\n" +
                "    unsigned int s;\n" +
                "    asm(\"{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }\" : \"=r\"(s) : \"l\"(p));\n" +
                "    return s;\n}\n",
            "0tid" => "static __device__ __forceinline__ int ge_linear_tid() { return (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }\n",
            "0max_i" => "static __device__ __forceinline__ int ge_max_i(int a, int b) { return a > b ? a : b; }\n",
            "0min_i" => "static __device__ __forceinline__ int ge_min_i(int a, int b) { return a < b ? a : b; }\n",
            "0max_u" => "static __device__ __forceinline__ unsigned int ge_max_u(unsigned int a, unsigned int b) { return a > b ? a : b; }\n",
            "0min_u" => "static __device__ __forceinline__ unsigned int ge_min_u(unsigned int a, unsigned int b) { return a < b ? a : b; }\n",
            "0abs_i" => "static __device__ __forceinline__ int ge_abs_i(int x) { return x < 0 ? -x : x; }\n",
            "0div_ceil" => "static __device__ __forceinline__ int ge_div_ceil(int a, int b) { return (a + b - 1) / b; }\n",
            "atomic_max_f" => "static __device__ __forceinline__ float ge_atomic_max_f(float* p, float v) { int* a = (int*)p; int old = *a, seen; do { seen = old; old = atomicCAS(a, seen, __float_as_int(fmaxf(__int_as_float(seen), v))); } while (old != seen); return __int_as_float(old); }\n",
            "atomic_min_f" => "static __device__ __forceinline__ float ge_atomic_min_f(float* p, float v) { int* a = (int*)p; int old = *a, seen; do { seen = old; old = atomicCAS(a, seen, __float_as_int(fminf(__int_as_float(seen), v))); } while (old != seen); return __int_as_float(old); }\n",
            "to_tf32" => "static __device__ __forceinline__ float ge_to_tf32(float x) { unsigned int r; asm(\"cvt.rna.tf32.f32 %0, %1;\" : \"=r\"(r) : \"f\"(x)); return __uint_as_float(r); }\n",
            "bf16_bits" => "static __device__ __forceinline__ unsigned int ge_bf16_bits(float x) { unsigned int b = __float_as_uint(x); if ((b & 0x7fffffffu) > 0x7f800000u) return ((b >> 16) | 0x40u) & 0xffffu; return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16; }\n",
            "pack_bf16" => "static __device__ __forceinline__ unsigned int ge_pack_bf16(float lo, float hi) { return ge_bf16_bits(lo) | (ge_bf16_bits(hi) << 16); }\n",
            // 4-byte cp.async with zero fill: src-size 0 reads nothing, so an invalid copy's address is never dereferenced and is
            // not clamped (a clamp, valid ? index : 0, breaks the affine address and stops the compiler from folding a copy's
            // constant offset into the instruction: about five integer instructions per copy). The wait takes an immediate, so a
            // switch that folds away for a constant argument (values above 7 wait for all groups).
            "cp_async" =>
                "static __device__ __forceinline__ void ge_cp_async4(unsigned int d, const float* src, bool valid)\n{\n" +
                "    asm volatile(\"cp.async.ca.shared.global [%0], [%1], 4, %2;\\n\" :: \"r\"(d), \"l\"(src), \"r\"(valid ? 4 : 0) : \"memory\");\n}\n" +
                "static __device__ __forceinline__ void ge_cp_async16(unsigned int d, const float* src, bool valid)\n{\n" +
                "    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\\n\" :: \"r\"(d), \"l\"(src), \"r\"(valid ? 16 : 0) : \"memory\");\n}\n" +
                "static __device__ __forceinline__ void ge_cp_async_commit() { asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\"); }\n" +
                "static __device__ __forceinline__ void ge_cp_async_wait(int n)\n{\n" +
                "    switch (n)\n    {\n" +
                "    case 1: asm volatile(\"cp.async.wait_group 1;\\n\" ::: \"memory\"); break;\n" +
                "    case 2: asm volatile(\"cp.async.wait_group 2;\\n\" ::: \"memory\"); break;\n" +
                "    case 3: asm volatile(\"cp.async.wait_group 3;\\n\" ::: \"memory\"); break;\n" +
                "    case 4: asm volatile(\"cp.async.wait_group 4;\\n\" ::: \"memory\"); break;\n" +
                "    case 5: asm volatile(\"cp.async.wait_group 5;\\n\" ::: \"memory\"); break;\n" +
                "    case 6: asm volatile(\"cp.async.wait_group 6;\\n\" ::: \"memory\"); break;\n" +
                "    case 7: asm volatile(\"cp.async.wait_group 7;\\n\" ::: \"memory\"); break;\n" +
                "    default: asm volatile(\"cp.async.wait_group 0;\\n\" ::: \"memory\"); break;\n" +
                "    }\n}\n",
            // wgmma is sm_90a's alone: its instructions compile only for that target (__CUDA_ARCH_FEAT_SM90_ALL) and trap
            // elsewhere, where the host never launches a kernel that uses them.
            "wgmma" =>
                "#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n#define GE_WG_ASM(...) asm volatile(__VA_ARGS__)\n#else\n#define GE_WG_ASM(...) __trap()\n#endif\n" +

                "// K-major operand with the 128-byte swizzle: start address, leading offset 1 (unused), stride between 8-row atoms, mode 1.\n" +
                "static __device__ __forceinline__ unsigned long long ge_wgmma_desc(const float* p, int groupStride)\n{\n" +
                "    return (unsigned long long)((ge_shared_u32(p) >> 4) & 0x3fffu) | (1ull << 16) |\n" +
                "        ((unsigned long long)(((unsigned int)groupStride >> 2) & 0x3fffu) << 32) | (1ull << 62);\n}\n" +
                "static __device__ __forceinline__ int ge_wgmma_aligned_base(const float* p) { return (int)(((1024u - (ge_shared_u32(p) & 1023u)) & 1008u) >> 2); }\n" +
                "static __device__ __forceinline__ void ge_wgmma_wait(int n)\n{\n" +
                "    switch (n)\n    {\n" +
                "    case 1: GE_WG_ASM(\"wgmma.wait_group.sync.aligned 1;\\n\" ::: \"memory\"); break;\n" +
                "    case 2: GE_WG_ASM(\"wgmma.wait_group.sync.aligned 2;\\n\" ::: \"memory\"); break;\n" +
                "    case 3: GE_WG_ASM(\"wgmma.wait_group.sync.aligned 3;\\n\" ::: \"memory\"); break;\n" +
                "    default: GE_WG_ASM(\"wgmma.wait_group.sync.aligned 0;\\n\" ::: \"memory\"); break;\n" +
                "    }\n}\n",
            "mma_tf32" =>
                "static __device__ __forceinline__ MmaAccumulator ge_mma_tf32(MmaTf32A a, MmaTf32B b, MmaAccumulator c)\n{\n" +
                "    MmaAccumulator d;\n" +
                "    asm volatile(\"mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\"\n" +
                "        : \"=f\"(d.C0), \"=f\"(d.C1), \"=f\"(d.C2), \"=f\"(d.C3)\n" +
                "        : \"r\"(__float_as_uint(a.A0)), \"r\"(__float_as_uint(a.A1)), \"r\"(__float_as_uint(a.A2)), \"r\"(__float_as_uint(a.A3)),\n" +
                "          \"r\"(__float_as_uint(b.B0)), \"r\"(__float_as_uint(b.B1)),\n" +
                "          \"f\"(c.C0), \"f\"(c.C1), \"f\"(c.C2), \"f\"(c.C3));\n" +
                "    return d;\n}\n",
            "mma_bf16" =>
                "static __device__ __forceinline__ MmaAccumulator ge_mma_bf16(MmaBf16A a, MmaBf16B b, MmaAccumulator c)\n{\n" +
                "    MmaAccumulator d;\n" +
                "    asm volatile(\"mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\"\n" +
                "        : \"=f\"(d.C0), \"=f\"(d.C1), \"=f\"(d.C2), \"=f\"(d.C3)\n" +
                "        : \"r\"(a.A0), \"r\"(a.A1), \"r\"(a.A2), \"r\"(a.A3), \"r\"(b.B0), \"r\"(b.B1),\n" +
                "          \"f\"(c.C0), \"f\"(c.C1), \"f\"(c.C2), \"f\"(c.C3));\n" +
                "    return d;\n}\n",
            _ => "",
        };
    }
}
