using System.Diagnostics.CodeAnalysis;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace GanEngine.Kernels;

/// <summary>
/// A read-write view of global device memory: <c>T*</c> in CUDA C, <c>__global T*</c> in OpenCL C.
/// </summary>
/// <remarks>
/// The same struct describes memory on every accelerator: <see cref="Handle"/> is a host pointer
/// (CPU), a device pointer (CUDA) or a <c>cl_mem</c> (OpenCL); <see cref="Offset"/> is in elements.
/// Element access is only valid in kernel code running on the CPU accelerator, where every index
/// is bounds-checked so that out-of-range accesses surface in tests instead of corrupting memory.
/// </remarks>
[DebuggerDisplay("ArrayView<{typeof(T).Name}>[{Length}] @ {Handle}+{Offset}")]
public readonly struct ArrayView<T> where T : unmanaged
{
    /// <summary>Creates a view; called by accelerators, not by kernel code.</summary>
    public ArrayView(nint handle, long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Handle = handle;
        Offset = offset;
        Length = length;
    }

    /// <summary>Host pointer, device pointer or <c>cl_mem</c>, depending on the accelerator.</summary>
    public nint Handle { get; }

    /// <summary>Offset of element 0 from <see cref="Handle"/>, in elements.</summary>
    public long Offset { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>The element at <paramref name="index"/> (CPU accelerator only; bounds-checked).</summary>
    public unsafe ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)Length)
            {
                ViewErrors.ThrowIndex(index, Length);
            }
            return ref Unsafe.Add(ref Unsafe.AsRef<T>((void*)Handle), (nint)(Offset + index));
        }
    }

    /// <summary>A view of <paramref name="length"/> elements starting at <paramref name="start"/>.</summary>
    public ArrayView<T> Slice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start))
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {start}+{length}) is outside a view of {Length} elements.");
        }
        return new ArrayView<T>(Handle, Offset + start, length);
    }

    /// <summary>The same memory, read-only.</summary>
    public ReadOnlyView<T> AsReadOnly() => new(Handle, Offset, Length);

    public static implicit operator ReadOnlyView<T>(ArrayView<T> view) => view.AsReadOnly();
}

/// <summary>
/// A read-only view of global device memory: <c>const T* __restrict__</c> in CUDA C (so loads may
/// go through the read-only cache), <c>__global const T*</c> in OpenCL C.
/// </summary>
[DebuggerDisplay("ReadOnlyView<{typeof(T).Name}>[{Length}] @ {Handle}+{Offset}")]
public readonly struct ReadOnlyView<T> where T : unmanaged
{
    /// <summary>Creates a view; called by accelerators, not by kernel code.</summary>
    public ReadOnlyView(nint handle, long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Handle = handle;
        Offset = offset;
        Length = length;
    }

    /// <inheritdoc cref="ArrayView{T}.Handle"/>
    public nint Handle { get; }

    /// <inheritdoc cref="ArrayView{T}.Offset"/>
    public long Offset { get; }

    /// <inheritdoc cref="ArrayView{T}.Length"/>
    public int Length { get; }

    /// <summary>The element at <paramref name="index"/> (CPU accelerator only; bounds-checked).</summary>
    public unsafe ref readonly T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)Length)
            {
                ViewErrors.ThrowIndex(index, Length);
            }
            return ref Unsafe.Add(ref Unsafe.AsRef<T>((void*)Handle), (nint)(Offset + index));
        }
    }

    /// <inheritdoc cref="ArrayView{T}.Slice"/>
    public ReadOnlyView<T> Slice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start))
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {start}+{length}) is outside a view of {Length} elements.");
        }
        return new ReadOnlyView<T>(Handle, Offset + start, length);
    }
}

/// <summary>
/// A view of the group's shared memory (<c>__shared__</c> in CUDA, <c>__local</c> in OpenCL),
/// obtained in kernel code from <see cref="Shared.Allocate{T}"/> or <see cref="Shared.Dynamic{T}"/>.
/// </summary>
public readonly struct SharedView<T> where T : unmanaged
{
    private readonly nint _address;

    /// <summary>Creates a view over CPU memory; called by the CPU accelerator's runtime.</summary>
    public SharedView(nint address, int length)
    {
        _address = address;
        Length = length;
    }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>The element at <paramref name="index"/> (bounds-checked on the CPU).</summary>
    public unsafe ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)Length)
            {
                ViewErrors.ThrowIndex(index, Length);
            }
            return ref Unsafe.Add(ref Unsafe.AsRef<T>((void*)_address), (nint)index);
        }
    }
}

internal static class ViewErrors
{
    [DoesNotReturn]
    public static void ThrowIndex(int index, int length) =>
        throw new IndexOutOfRangeException($"Kernel accessed index {index} of a view of {length} elements.");
}
