using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Memory;

namespace GanEngine.Tensors;

/// <summary>
/// Reference-counted float32 device memory shared by a tensor and its views. The block goes back to
/// the <see cref="CachingAllocator"/> when the last reference is released (no finalizer).
/// </summary>
public sealed class TensorStorage
{
    private readonly CachingAllocator _allocator;
    private MemoryBlock? _block;
    private int _references = 1;

    internal TensorStorage(CachingAllocator allocator, int length, AcceleratorStream stream)
    {
        _allocator = allocator;
        Length = length;
        _block = allocator.Allocate((long)length * sizeof(float), stream);
    }

    /// <summary>Elements of storage.</summary>
    public int Length { get; }

    /// <summary>The accelerator that holds the memory.</summary>
    public Accelerator Accelerator => _allocator.Accelerator;

    /// <summary>The stream that allocated the memory; ops on tensors of this storage run there.</summary>
    public AcceleratorStream Stream => Block.Stream;

    /// <summary>Live references (tensors and views).</summary>
    public int References => Volatile.Read(ref _references);

    /// <summary>The allocator block (for <see cref="MemoryBlock.RecordStream"/>).</summary>
    public MemoryBlock Block => _block ?? throw new ObjectDisposedException(nameof(TensorStorage));

    /// <summary>The whole storage as a kernel argument.</summary>
    public ArrayView<float> View => new(Block.Handle, 0, Length);

    internal void AddReference()
    {
        ObjectDisposedException.ThrowIf(Interlocked.Increment(ref _references) <= 1, this);
    }

    internal void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            var block = Interlocked.Exchange(ref _block, null);
            if (block != null)
            {
                _allocator.Free(block);
            }
        }
    }
}
