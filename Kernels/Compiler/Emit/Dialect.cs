using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace GanEngine.Kernels.Compiler.Emit
{
    /// <summary>What differs between CUDA C and OpenCL C; <see cref="CEmitter"/> renders everything else.</summary>
    internal abstract class Dialect
    {
        public abstract string Name { get; }
        public abstract bool IsCuda { get; }

        /// <summary>C type name of a primitive (int, float, ...).</summary>
        public abstract string Primitive(SpecialType type);

        public abstract string HelperQualifiers { get; }
        public abstract string Index(string kind, int axis);
        public abstract string Barrier { get; }
        public abstract string FloatToInt(SpecialType to, SpecialType from, string value);
        public abstract string FloatFromBits(uint bits);
        public abstract string DoubleFromBits(ulong bits);
        public abstract string LongSuffix { get; }
        public abstract string ULongSuffix { get; }

        /// <summary>Pointer parameter for a view passed to a helper or kernel.</summary>
        public abstract string PointerType(string elementType, bool readOnly, bool shared, bool restrict);

        /// <summary>Math function name for a KMath method on float or double (null when it needs a prelude helper).</summary>
        public abstract string Math(string name, SpecialType type, IReadOnlyList<string> args, ISet<string> needs);

        public abstract string Atomic(string name, SpecialType type, bool shared, string address, IReadOnlyList<string> args, ISet<string> needs);

        public abstract string Warp(string name, SpecialType valueType, IReadOnlyList<string> args, ISet<string> needs);

        public abstract string Mma(string name, IReadOnlyList<string> args, ISet<string> needs);

        /// <summary>AsyncCopy.Float(dst, dstIndex, src, srcIndex, valid) / Commit() / Wait(n).</summary>
        public abstract string AsyncCopy(string name, IReadOnlyList<string> args, ISet<string> needs);

        /// <summary>Wgmma.Tf32M64N128K8(acc, accOffset, shared, aOffset, bOffset, groupStride, accumulate) /
        /// Fence() / Commit() / Wait(n) / SharedFence() / AlignedBase(shared).</summary>
        public abstract string Wgmma(string name, IReadOnlyList<string> args, ISet<string> needs);

        /// <summary>Prelude code for one need (emitted once, in a fixed order).</summary>
        public abstract string PreludeFor(string need);

        /// <summary>Extra trailing parameter / argument of helpers that use the OpenCL warp scratch.</summary>
        public virtual string ScratchParameter => "";
        public virtual string ScratchArgument => "";
    }
}
