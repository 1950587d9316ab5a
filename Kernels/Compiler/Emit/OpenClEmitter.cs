using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;

namespace GanEngine.Kernels.Compiler.Emit
{
    /// <summary>OpenCL C 1.2: warp collectives and mma emulated on local memory with barriers.</summary>
    internal sealed class OpenClDialect : Dialect
    {
        public static readonly OpenClDialect Instance = new OpenClDialect();

        private const string Fence = "barrier(CLK_LOCAL_MEM_FENCE)";

        public override string Name => "OpenCL C 1.2";
        public override bool IsCuda => false;
        public override string LongSuffix => "l";
        public override string ULongSuffix => "ul";
        public override string HelperQualifiers => "static inline ";
        public override string Barrier => "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)";
        public override string ScratchParameter => "__local uint* ge_ws";
        public override string ScratchArgument => "ge_ws";

        public override string Primitive(SpecialType type) => type switch
        {
            SpecialType.System_Int32 => "int",
            SpecialType.System_UInt32 => "uint",
            SpecialType.System_Int64 => "long",
            SpecialType.System_UInt64 => "ulong",
            SpecialType.System_Single => "float",
            SpecialType.System_Double => "double",
            SpecialType.System_Boolean => "bool",
            SpecialType.System_Int16 => "short",
            SpecialType.System_UInt16 => "ushort",
            SpecialType.System_Byte => "uchar",
            SpecialType.System_SByte => "char",
            _ => "int",
        };

        public override string Index(string kind, int axis)
        {
            string f = kind switch { "ThreadIdx" => "get_local_id", "BlockIdx" => "get_group_id", "BlockDim" => "get_local_size", _ => "get_num_groups" };
            return "((int)" + f + "(" + axis + "))";
        }

        public override string FloatToInt(SpecialType to, SpecialType from, string value) =>
            "convert_" + Primitive(to) + "_sat(" + value + ")"; // float-to-int conversions round toward zero by default

        public override string FloatFromBits(uint bits) => "as_float(0x" + bits.ToString("x8", CultureInfo.InvariantCulture) + "u)";

        public override string DoubleFromBits(ulong bits) => "as_double(0x" + bits.ToString("x16", CultureInfo.InvariantCulture) + "ul)";

        public override string PointerType(string elementType, bool readOnly, bool shared, bool restrict) =>
            (shared ? "__local " : "__global ") + (readOnly ? "const " : "") + elementType + "* ";

        public override string Math(string name, SpecialType type, IReadOnlyList<string> a, ISet<string> needs)
        {
            bool i = type is SpecialType.System_Int32 or SpecialType.System_UInt32;
            string args = string.Join(", ", a);
            switch (name)
            {
                case "Max" when i: return "max(" + args + ")";
                case "Min" when i: return "min(" + args + ")";
                case "Clamp" when i: return "min(max(" + a[0] + ", " + a[1] + "), " + a[2] + ")";
                case "Max" when type == SpecialType.System_Single: needs.Add("0fmax_f"); return "ge_fmax_f(" + args + ")";
                case "Min" when type == SpecialType.System_Single: needs.Add("0fmin_f"); return "ge_fmin_f(" + args + ")";
                case "Clamp": needs.Add("0fmax_f"); needs.Add("0fmin_f"); return "ge_fmin_f(ge_fmax_f(" + a[0] + ", " + a[1] + "), " + a[2] + ")";
                case "Abs" when i: needs.Add("0abs_i"); return "ge_abs_i(" + args + ")";
                case "DivCeil": needs.Add("0div_ceil"); return "ge_div_ceil(" + args + ")";
                case "FloatAsInt": return "as_int(" + args + ")";
                case "IntAsFloat": return "as_float(" + args + ")";
                case "FloatAsUInt": return "as_uint(" + args + ")";
                case "UIntAsFloat": return "as_float(" + args + ")";
                case "PopCount": return "((int)popcount(" + args + "))";
                case "LeadingZeroCount": return "((int)clz(" + args + "))";
            }
            string f = name switch
            {
                "Max" => "fmax", "Min" => "fmin", "Abs" => "fabs", "Sqrt" => "sqrt", "Rsqrt" => "rsqrt", "Exp" => "exp",
                "Exp2" => "exp2", "Log" => "log", "Log2" => "log2", "Pow" => "pow", "Tanh" => "tanh", "Sin" => "sin",
                "Cos" => "cos", "Floor" => "floor", "Ceil" => "ceil", "Round" => "round", "Rint" => "rint", "Trunc" => "trunc",
                "Fma" => "fma", _ => name,
            };
            return f + "(" + args + ")";
        }

        public override string Atomic(string name, SpecialType type, bool shared, string address, IReadOnlyList<string> a, ISet<string> needs)
        {
            bool f = type == SpecialType.System_Single;
            string space = shared ? "l" : "g";
            if (f && name != "Exchange")
            {
                string op = name switch { "Add" => "add", "Max" => "max", "Min" => "min", _ => "cas" };
                needs.Add("atomic_" + op + "_f_" + space);
                if (op is "max" or "min")
                {
                    needs.Add("0f" + op + "_f");
                }
                return "ge_atomic_" + op + "_f_" + space + "(" + address + ", " + string.Join(", ", a) + ")";
            }
            switch (name)
            {
                case "Add": return "atomic_add(" + address + ", " + a[0] + ")";
                case "Exchange": return "atomic_xchg(" + address + ", " + a[0] + ")";
                case "Max": return "atomic_max(" + address + ", " + a[0] + ")";
                case "Min": return "atomic_min(" + address + ", " + a[0] + ")";
                case "CompareExchange": return "atomic_cmpxchg(" + address + ", " + a[0] + ", " + a[1] + ")";
                default: return "/* unknown atomic */0";
            }
        }

        public override string Warp(string name, SpecialType valueType, IReadOnlyList<string> a, ISet<string> needs)
        {
            needs.Add("warp");
            int kind = name switch { "Shuffle" => 0, "ShuffleDown" => 1, "ShuffleUp" => 2, "ShuffleXor" => 3, _ => -1 };
            if (kind >= 0)
            {
                string core = "ge_shfl(" + (valueType == SpecialType.System_UInt32 ? a[0] : "as_uint(" + a[0] + ")") + ", " + kind + ", " + a[1] + ", ge_ws)";
                return valueType switch
                {
                    SpecialType.System_Single => "as_float(" + core + ")",
                    SpecialType.System_Int32 => "as_int(" + core + ")",
                    _ => core,
                };
            }
            string ballot = "ge_ballot(" + a[0] + ", ge_ws)";
            return name switch
            {
                "All" => "(" + ballot + " == 0xffffffffu)",
                "Any" => "(" + ballot + " != 0u)",
                _ => ballot,
            };
        }

        public override string Mma(string name, IReadOnlyList<string> a, ISet<string> needs)
        {
            string fn = name == "Tf32M16N8K8" ? "mma_tf32" : "mma_bf16";
            needs.Add(fn);
            return "ge_" + fn + "(" + string.Join(", ", a) + ", ge_ws)";
        }

        public override string AsyncCopy(string name, IReadOnlyList<string> a, ISet<string> needs)
        {
            // Copied at once: commit and wait have nothing to order.
            if (name == "Float4")
            {
                needs.Add("copy16");
                return "ge_copy16(&(" + a[0] + ")[" + a[1] + "], " + a[2] + ", (" + a[3] + ") + (" + a[4] + "), " + a[5] + ")";
            }
            if (name != "Float")
            {
                return "((void)0)";
            }
            needs.Add("copy4");
            return a.Count == 6
                ? "ge_copy4(&(" + a[0] + ")[" + a[1] + "], " + a[2] + ", (" + a[3] + ") + (" + a[4] + "), " + a[5] + ")"
                : "ge_copy4(&(" + a[0] + ")[" + a[1] + "], " + a[2] + ", " + a[3] + ", " + a[4] + ")";
        }

        public override string Wgmma(string name, IReadOnlyList<string> a, ISet<string> needs)
        {
            // Computed at the call from shared memory: fences, commits and waits have nothing to order; the swizzle is relative
            // to index 0.
            if (name == "AlignedBase")
            {
                return "0";
            }
            if (name != "Tf32M64N128K8")
            {
                return "((void)0)";
            }
            needs.Add("0tid");
            needs.Add("wgmma");
            return "ge_wgmma_tf32(" + a[0] + ", " + a[1] + ", " + a[2] + ", " + a[3] + ", " + a[4] + ", " + a[5] + ", " + a[6] + ", 128)";
        }

        private static string FloatAtomic(string name, string space, string update) =>
            "static inline float ge_atomic_" + name + "_f_" + space + "(volatile " + space + " float* p, float v) { volatile " + space +
            " int* a = (volatile " + space + " int*)p; int old = *a, seen; do { seen = old; old = atomic_cmpxchg(a, seen, as_int(" + update +
            ")); } while (old != seen); return as_float(old); }\n";

        private static string FloatCas(string space) =>
            "static inline float ge_atomic_cas_f_" + (space == "__global" ? "g" : "l") + "(volatile " + space + " float* p, float cmp, float v) { return as_float(atomic_cmpxchg((volatile " + space +
            " int*)p, as_int(cmp), as_int(v))); }\n";

        public override string PreludeFor(string need) => need switch
        {
            "0tid" => "static inline int ge_linear_tid() { return (int)(get_local_id(0) + get_local_size(0) * (get_local_id(1) + get_local_size(1) * get_local_id(2))); }\n",
            // OpenCL leaves fmax(-0, +0) unspecified; KMath orders the zeros (max +0, min -0) on every backend.
            "0fmax_f" => "static inline float ge_fmax_f(float a, float b) { return a == b ? as_float(as_uint(a) & as_uint(b)) : fmax(a, b); }\n",
            "0fmin_f" => "static inline float ge_fmin_f(float a, float b) { return a == b ? as_float(as_uint(a) | as_uint(b)) : fmin(a, b); }\n",
            "0abs_i" => "static inline int ge_abs_i(int x) { return x < 0 ? -x : x; }\n",
            "0div_ceil" => "static inline int ge_div_ceil(int a, int b) { return (a + b - 1) / b; }\n",
            "atomic_add_f_g" => FloatAtomic("add", "__global", "as_float(seen) + v").Replace("_f___global(", "_f_g("),
            "atomic_add_f_l" => FloatAtomic("add", "__local", "as_float(seen) + v").Replace("_f___local(", "_f_l("),
            "atomic_max_f_g" => FloatAtomic("max", "__global", "ge_fmax_f(as_float(seen), v)").Replace("_f___global(", "_f_g("),
            "atomic_max_f_l" => FloatAtomic("max", "__local", "ge_fmax_f(as_float(seen), v)").Replace("_f___local(", "_f_l("),
            "atomic_min_f_g" => FloatAtomic("min", "__global", "ge_fmin_f(as_float(seen), v)").Replace("_f___global(", "_f_g("),
            "atomic_min_f_l" => FloatAtomic("min", "__local", "ge_fmin_f(as_float(seen), v)").Replace("_f___local(", "_f_l("),
            "atomic_cas_f_g" => FloatCas("__global"),
            "atomic_cas_f_l" => FloatCas("__local"),
            "copy16" => "static inline void ge_copy16(__local float* dst, __global const float* src, int index, bool valid) { for (int i = 0; i < 4; i++) dst[i] = valid ? src[index + i] : 0.0f; }\n",
            "copy4" => "static inline void ge_copy4(__local float* dst, __global const float* src, int index, bool valid) { *dst = valid ? src[index] : 0.0f; }\n",
            "to_tf32" => "static inline float ge_to_tf32(float x) { uint b = as_uint(x); if ((b & 0x7f800000u) == 0x7f800000u) return x; return as_float((b + 0x1000u) & 0xffffe000u); }\n",
            "bf16_bits" => "static inline uint ge_bf16_bits(float x) { uint b = as_uint(x); if ((b & 0x7fffffffu) > 0x7f800000u) return ((b >> 16) | 0x40u) & 0xffffu; return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16; }\n",
            "pack_bf16" => "static inline uint ge_pack_bf16(float lo, float hi) { return ge_bf16_bits(lo) | (ge_bf16_bits(hi) << 16); }\n",
            "warp" =>
                "// Warp collectives on local memory: all threads of the block reach them (block-uniform control flow).\n" +
                "static inline uint ge_shfl(uint v, int kind, int op, __local uint* ws)\n{\n" +
                "    int tid = ge_linear_tid(); int lane = tid & 31;\n" +
                "    int src = kind == 0 ? (op & 31) : kind == 1 ? (lane + op <= 31 ? lane + op : lane) : kind == 2 ? (lane - op >= 0 ? lane - op : lane) : ((lane ^ op) & 31);\n" +
                "    ws[tid] = v; " + Fence + ";\n" +
                "    uint r = ws[tid - lane + src]; " + Fence + ";\n" +
                "    return r;\n}\n" +
                "static inline uint ge_ballot(bool p, __local uint* ws)\n{\n" +
                "    int tid = ge_linear_tid(); int lane = tid & 31;\n" +
                "    ws[tid] = p ? 1u : 0u; " + Fence + ";\n" +
                "    uint m = 0u; for (int i = 0; i < 32; i++) m |= ws[tid - lane + i] << i;\n" +
                "    " + Fence + ";\n" +
                "    return m;\n}\n",
            "wgmma" =>
                "// wgmma m64nNk8 tf32 emulated per thread from the shared operands (K-major, 128-byte swizzle; tf32 by truncation).\n" +
                "static inline float ge_wg_elem(__local const float* s, int off, int r, int k, int group) { int u = (off & ~31) + (r >> 3) * group + (r & 7) * 32 + (((off & 31) >> 2) + (k >> 2)) * 4 + (k & 3); return as_float(as_uint(s[u ^ (((u >> 5) & 7) << 2)]) & 0xffffe000u); }\n" +
                "static inline void ge_wgmma_tf32(float* acc, int accOffset, __local const float* s, int aOff, int bOff, int group, int accumulate, int n)\n{\n" +
                "    int t = ge_linear_tid() & 127; int w = t >> 5; int g = (t & 31) >> 2; int q = t & 3;\n" +
                "    for (int j = 0; j < n / 8; j++)\n    {\n" +
                "        for (int e = 0; e < 4; e++)\n        {\n" +
                "            int row = 16 * w + g + 8 * (e >> 1), col = 8 * j + 2 * q + (e & 1);\n" +
                "            float sum = 0.0f;\n" +
                "            for (int k = 0; k < 8; k++) sum += ge_wg_elem(s, aOff, row, k, group) * ge_wg_elem(s, bOff, col, k, group);\n" +
                "            int at = accOffset + 4 * j + e;\n" +
                "            acc[at] = accumulate != 0 ? acc[at] + sum : sum;\n" +
                "        }\n    }\n}\n",
            "mma_tf32" =>
                "// mma.m16n8k8 tf32 emulated: the warp's fragments meet in local memory (PTX fragment layout, tf32 by truncation).\n" +
                "static inline MmaAccumulator ge_mma_tf32(MmaTf32A a, MmaTf32B b, MmaAccumulator c, __local uint* ws)\n{\n" +
                "    int tid = ge_linear_tid(); int lane = tid & 31; __local uint* w = ws + (tid - lane) * 6;\n" +
                "    w[lane * 6 + 0] = as_uint(a.A0); w[lane * 6 + 1] = as_uint(a.A1); w[lane * 6 + 2] = as_uint(a.A2); w[lane * 6 + 3] = as_uint(a.A3);\n" +
                "    w[lane * 6 + 4] = as_uint(b.B0); w[lane * 6 + 5] = as_uint(b.B1);\n" +
                "    " + Fence + ";\n" +
                "    int g = lane >> 2, t = lane & 3;\n" +
                "    float acc[4] = { c.C0, c.C1, c.C2, c.C3 };\n" +
                "    for (int i = 0; i < 4; i++)\n    {\n" +
                "        int row = g + (i >> 1) * 8, col = 2 * t + (i & 1);\n" +
                "        float s = acc[i];\n" +
                "        for (int k = 0; k < 8; k++)\n        {\n" +
                "            float av = as_float(w[((row & 7) * 4 + (k & 3)) * 6 + (row >> 3) + (k >> 2) * 2] & 0xffffe000u);\n" +
                "            float bv = as_float(w[(col * 4 + (k & 3)) * 6 + 4 + (k >> 2)] & 0xffffe000u);\n" +
                "            s += av * bv;\n" +
                "        }\n" +
                "        acc[i] = s;\n    }\n" +
                "    " + Fence + ";\n" +
                "    MmaAccumulator d; d.C0 = acc[0]; d.C1 = acc[1]; d.C2 = acc[2]; d.C3 = acc[3];\n" +
                "    return d;\n}\n",
            "mma_bf16" =>
                "// mma.m16n8k16 bf16 emulated: the warp's fragments meet in local memory (PTX fragment layout).\n" +
                "static inline float ge_bf16_half(uint w, int upper) { return as_float(upper != 0 ? (w & 0xffff0000u) : (w << 16)); }\n" +
                "static inline MmaAccumulator ge_mma_bf16(MmaBf16A a, MmaBf16B b, MmaAccumulator c, __local uint* ws)\n{\n" +
                "    int tid = ge_linear_tid(); int lane = tid & 31; __local uint* w = ws + (tid - lane) * 6;\n" +
                "    w[lane * 6 + 0] = a.A0; w[lane * 6 + 1] = a.A1; w[lane * 6 + 2] = a.A2; w[lane * 6 + 3] = a.A3;\n" +
                "    w[lane * 6 + 4] = b.B0; w[lane * 6 + 5] = b.B1;\n" +
                "    " + Fence + ";\n" +
                "    int g = lane >> 2, t = lane & 3;\n" +
                "    float acc[4] = { c.C0, c.C1, c.C2, c.C3 };\n" +
                "    for (int i = 0; i < 4; i++)\n    {\n" +
                "        int row = g + (i >> 1) * 8, col = 2 * t + (i & 1);\n" +
                "        float s = acc[i];\n" +
                "        for (int k = 0; k < 16; k++)\n        {\n" +
                "            float av = ge_bf16_half(w[((row & 7) * 4 + ((k & 7) >> 1)) * 6 + (row >> 3) + (k >> 3) * 2], k & 1);\n" +
                "            float bv = ge_bf16_half(w[(col * 4 + ((k & 7) >> 1)) * 6 + 4 + (k >> 3)], k & 1);\n" +
                "            s += av * bv;\n" +
                "        }\n" +
                "        acc[i] = s;\n    }\n" +
                "    " + Fence + ";\n" +
                "    MmaAccumulator d; d.C0 = acc[0]; d.C1 = acc[1]; d.C2 = acc[2]; d.C3 = acc[3];\n" +
                "    return d;\n}\n",
            _ => "",
        };
    }
}
