using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GanEngine.Kernels;

/// <summary>A 3-component launch extent or index (CUDA's <c>dim3</c>).</summary>
public readonly record struct Dim3(int X, int Y = 1, int Z = 1)
{
    /// <summary>X * Y * Z.</summary>
    public long Product => (long)X * Y * Z;

    public static implicit operator Dim3(int x) => new(x);

    public override string ToString() => $"({X}, {Y}, {Z})";
}

/// <summary>Grid and block extents and the dynamic shared memory of one launch.</summary>
public readonly record struct LaunchConfig(Dim3 Grid, Dim3 Block, int DynamicSharedBytes = 0)
{
    /// <summary>A 1D launch that covers <paramref name="elements"/> threads with blocks of
    /// <paramref name="blockSize"/> (the last block ragged).</summary>
    public static LaunchConfig ForElements(long elements, int blockSize = 256)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        ArgumentOutOfRangeException.ThrowIfNegative(elements);
        long blocks = Math.Max(1, (elements + blockSize - 1) / blockSize);
        if (blocks > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(elements), $"{elements} elements need more than 2^31-1 blocks of {blockSize}.");
        }
        return new LaunchConfig(new Dim3((int)blocks), new Dim3(blockSize));
    }

    public override string ToString() => $"grid {Grid}, block {Block}, dynamic shared {DynamicSharedBytes} B";
}

/// <summary>How a kernel parameter is passed.</summary>
public enum KernelArgumentKind : byte
{
    /// <summary>A read-write global buffer (<see cref="ArrayView{T}"/>).</summary>
    Buffer,
    /// <summary>A read-only global buffer (<see cref="ReadOnlyView{T}"/>).</summary>
    ReadOnlyBuffer,
    /// <summary>An unmanaged scalar or plain struct, passed by value.</summary>
    Scalar,
    /// <summary>An <c>int</c> specialization constant (<see cref="SpecializationAttribute"/>).</summary>
    Specialization,
}

/// <summary>Up to 64 bytes of a by-value argument, stored inline so that launches do not allocate.</summary>
[InlineArray(8)]
public struct ScalarBytes
{
    private ulong _element0;
}

/// <summary>
/// One launch argument as the generated launcher packs it. Unmanaged, so a launcher builds its
/// argument list in a <c>stackalloc</c> span: a launch does not allocate on the managed heap.
/// </summary>
public struct KernelArgument
{
    /// <summary>Maximum size of a by-value argument.</summary>
    public const int MaxScalarBytes = 64;

    public KernelArgumentKind Kind;

    /// <summary>Buffer handle (<see cref="ArrayView{T}.Handle"/>); 0 for scalars.</summary>
    public nint Handle;

    /// <summary>Buffer offset in elements.</summary>
    public long Offset;

    /// <summary>Buffer length in elements.</summary>
    public int Length;

    /// <summary>Size of one buffer element, or of the scalar, in bytes.</summary>
    public int ElementSize;

    /// <summary>The scalar's bytes (little-endian, as in memory).</summary>
    public ScalarBytes Scalar;

    public static KernelArgument FromView<T>(ArrayView<T> view) where T : unmanaged => new()
    {
        Kind = KernelArgumentKind.Buffer,
        Handle = view.Handle,
        Offset = view.Offset,
        Length = view.Length,
        ElementSize = Unsafe.SizeOf<T>(),
    };

    public static KernelArgument FromView<T>(ReadOnlyView<T> view) where T : unmanaged => new()
    {
        Kind = KernelArgumentKind.ReadOnlyBuffer,
        Handle = view.Handle,
        Offset = view.Offset,
        Length = view.Length,
        ElementSize = Unsafe.SizeOf<T>(),
    };

    public static KernelArgument FromScalar<T>(T value) where T : unmanaged
    {
        if (Unsafe.SizeOf<T>() > MaxScalarBytes)
        {
            throw new ArgumentException($"{typeof(T).Name} is {Unsafe.SizeOf<T>()} bytes; kernel arguments are at most {MaxScalarBytes}.");
        }
        var argument = new KernelArgument { Kind = KernelArgumentKind.Scalar, ElementSize = Unsafe.SizeOf<T>() };
        Unsafe.WriteUnaligned(ref Unsafe.As<ScalarBytes, byte>(ref argument.Scalar), value);
        return argument;
    }

    public static KernelArgument FromSpecialization(int value)
    {
        var argument = FromScalar(value);
        argument.Kind = KernelArgumentKind.Specialization;
        return argument;
    }

    /// <summary>The scalar's bytes.</summary>
    public readonly ReadOnlySpan<byte> ScalarSpan =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<ScalarBytes, byte>(ref Unsafe.AsRef(in Scalar)), ElementSize);

    /// <summary>Reads the scalar back as <typeparamref name="T"/> (CPU accelerator).</summary>
    public readonly T GetScalar<T>() where T : unmanaged =>
        Unsafe.ReadUnaligned<T>(ref Unsafe.As<ScalarBytes, byte>(ref Unsafe.AsRef(in Scalar)));

    public readonly ArrayView<T> GetView<T>() where T : unmanaged => new(Handle, Offset, Length);

    public readonly ReadOnlyView<T> GetReadOnlyView<T>() where T : unmanaged => new(Handle, Offset, Length);
}

/// <summary>What a generated launcher calls: an accelerator or one of its streams.</summary>
public interface IKernelLauncher
{
    /// <summary>Enqueues one launch of <paramref name="kernel"/>. Arguments follow the kernel's
    /// parameter order (<see cref="KernelDefinition.Parameters"/>).</summary>
    void Launch(KernelDefinition kernel, in LaunchConfig config, ReadOnlySpan<KernelArgument> arguments);
}
