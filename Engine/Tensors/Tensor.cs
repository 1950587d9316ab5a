using System.Text;
using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Memory;
using GanEngine.Ops.Elementwise;

namespace GanEngine.Tensors;

/// <summary>
/// A float32 tensor of any rank (at most 6 for the kernels; NCHW for images) on an accelerator: a
/// strided view (extents, strides in elements, offset) of reference-counted <see cref="TensorStorage"/>
/// from the <see cref="CachingAllocator"/>. Views (<see cref="View"/>, <see cref="Slice"/>,
/// <see cref="Transpose"/>, <see cref="Permute"/>, <see cref="Expand"/>) share storage; the memory goes
/// back to the allocator when the last tensor that uses it is disposed.
/// </summary>
/// <remarks>
/// <para>Ownership is explicit: <see cref="Dispose()"/>, or a <see cref="TensorScope"/> that disposes the
/// tensors created inside it. There are no finalizers. Ops run on the stream of their first input's
/// storage and never wait on the host; only <see cref="ToHost"/> (and <see cref="Item"/>) synchronise.</para>
/// <para>Autograd: a tensor that <see cref="RequiresGrad"/> and was produced by a differentiable op
/// carries the node that made it (<see cref="GradFn"/>); <see cref="Backward"/> on a scalar fills the
/// <see cref="Grad"/> of the leaves (see <see cref="Autograd"/>). Semantics follow PyTorch.</para>
/// </remarks>
public partial class Tensor : IDisposable
{
    private readonly int[] _shape;
    private readonly int[] _strides;
    private TensorStorage? _storage;
    private Tensor? _grad;

    /// <summary>A tensor over <paramref name="storage"/> (takes over one reference to it).</summary>
    private protected Tensor(TensorStorage storage, int[] shape, int[] strides, int offset, bool scoped = true)
    {
        if (shape.Length > StridedLayout.MaxRank)
        {
            throw new ArgumentException($"Rank {shape.Length} exceeds {StridedLayout.MaxRank}.", nameof(shape));
        }
        _storage = storage;
        _shape = shape;
        _strides = strides;
        Offset = offset;
        Length = StridedLayout.CountOf(shape);
        if (scoped)
        {
            TensorScope.Current?.Add(this);
        }
    }

    /// <summary>Extents, outermost first.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Strides in elements (0 for a broadcast dimension).</summary>
    public IReadOnlyList<int> Strides => _strides;

    /// <summary>Storage offset of element 0, in elements.</summary>
    public int Offset { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>The storage (shared with views).</summary>
    public TensorStorage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor), "The tensor was disposed.");

    /// <summary>False once disposed.</summary>
    public bool IsAlive => _storage != null;

    /// <summary>The accelerator holding the data.</summary>
    public Accelerator Accelerator => Storage.Accelerator;

    /// <summary>The stream ops on this tensor run on.</summary>
    public AcceleratorStream Stream => Storage.Stream;

    /// <summary>True if the elements are row-major without gaps (offset may be non-zero).</summary>
    public bool IsContiguous
    {
        get
        {
            int expected = 1;
            for (int d = Rank - 1; d >= 0; d--)
            {
                if (_shape[d] != 1 && _strides[d] != expected)
                {
                    return false;
                }
                expected *= _shape[d];
            }
            return true;
        }
    }

    /// <summary>The view's geometry for raw ops.</summary>
    public StridedLayout Layout => new(_shape, _strides, Offset);

    /// <summary>Extent of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public int Size(int dim) => _shape[NormalizeDim(dim, Rank)];

    /// <summary>A copy of the extents.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>The scope that will dispose this tensor, if any.</summary>
    internal TensorScope? Scope { get; set; }

    /// <summary>The storage as a read-only kernel argument (element 0 of the view at <see cref="Offset"/>).</summary>
    internal ReadOnlyView<float> Data => Storage.View;

    /// <summary>For contiguous tensors: exactly the view's elements, as a kernel argument. The escape hatch
    /// for raw ops (Engine/Ops) and custom kernels; work launched on it must go to <see cref="Stream"/>.</summary>
    public ArrayView<float> DenseView
    {
        get
        {
            if (!IsContiguous)
            {
                throw new InvalidOperationException("The tensor is not contiguous.");
            }
            return Storage.View.Slice(Offset, Length);
        }
    }

    // ---- autograd state ---------------------------------------------------------------------------

    /// <summary>Whether gradients flow to (leaf) or through (non-leaf) this tensor.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The node of the op that produced this tensor (null for leaves).</summary>
    public Node? GradFn { get; internal set; }

    /// <summary>True for tensors not produced by a recorded op.</summary>
    public bool IsLeaf => GradFn == null;

    /// <summary>The accumulated gradient (leaves that require grad), owned by this tensor.</summary>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            if (ReferenceEquals(value, _grad))
            {
                return;
            }
            _grad?.Dispose();
            _grad = value;
            if (value != null)
            {
                value.Scope = null; // the gradient belongs to this tensor, not to a scope
            }
        }
    }

    /// <summary>Drops the gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>, the default) or, with
    /// <paramref name="setToNone"/> false, fills it with zeros in place (no allocation).</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        if (_grad == null)
        {
            return;
        }
        if (setToNone)
        {
            Grad = null;
        }
        else
        {
            ElementwiseOps.Fill(_grad.Stream, _grad.DenseView, _grad.Length, 0f);
        }
    }

    /// <summary>Runs reverse-mode autograd from this scalar (see <see cref="Autograd.Backward"/>).</summary>
    public void Backward(bool retainGraph = false) => Autograd.Backward(this, retainGraph);

    /// <summary>A tensor sharing this one's storage and view, cut from the graph (PyTorch's <c>detach</c>).</summary>
    public Tensor Detach() => ViewOf(_shape, _strides, Offset);

    // ---- creation ---------------------------------------------------------------------------------

    /// <summary>An uninitialised contiguous tensor on <paramref name="stream"/> (default: the default stream).</summary>
    public static Tensor Empty(Accelerator accelerator, int[] shape, AcceleratorStream? stream = null)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentNullException.ThrowIfNull(shape);
        int n = StridedLayout.CountOf(shape);
        var storage = new TensorStorage(CachingAllocator.For(accelerator), n, stream ?? accelerator.DefaultStream);
        return new Tensor(storage, (int[])shape.Clone(), StridedLayout.ContiguousStrides(shape), 0);
    }

    /// <summary>A tensor filled with <paramref name="value"/> (<c>torch.full</c>).</summary>
    public static Tensor Full(Accelerator accelerator, int[] shape, float value, AcceleratorStream? stream = null)
    {
        var t = Empty(accelerator, shape, stream);
        ElementwiseOps.Fill(t.Stream, t.DenseView, t.Length, value);
        return t;
    }

    /// <summary>A tensor of zeros (<c>torch.zeros</c>).</summary>
    public static Tensor Zeros(Accelerator accelerator, int[] shape, AcceleratorStream? stream = null) => Full(accelerator, shape, 0f, stream);

    /// <summary>A tensor of ones (<c>torch.ones</c>).</summary>
    public static Tensor Ones(Accelerator accelerator, int[] shape, AcceleratorStream? stream = null) => Full(accelerator, shape, 1f, stream);

    /// <summary>A contiguous tensor holding <paramref name="data"/> (row-major) with <paramref name="shape"/>.
    /// The copy is from pageable memory and returns when <paramref name="data"/> may be reused.</summary>
    public static Tensor FromHost(Accelerator accelerator, float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (StridedLayout.CountOf(shape) != data.Length)
        {
            throw new ArgumentException($"{data.Length} values do not fill shape {Format(shape)}.", nameof(data));
        }
        var t = Empty(accelerator, shape);
        t.Stream.CopyToDevice<float>(data, t.DenseView);
        return t;
    }

    /// <summary>The elements in row-major order. Waits for the tensor's stream (a host synchronisation).</summary>
    public float[] ToHost()
    {
        var result = new float[Length];
        if (Length == 0)
        {
            return result;
        }
        if (IsContiguous)
        {
            Stream.CopyToHost(DenseView.AsReadOnly(), result);
        }
        else
        {
            using var dense = ContiguousCopy();
            dense.Stream.CopyToHost(dense.DenseView.AsReadOnly(), result);
        }
        return result;
    }

    /// <summary>The value of a one-element tensor (synchronises).</summary>
    public float Item() => Length == 1 ? ToHost()[0] : throw new InvalidOperationException($"Item() needs one element, not {Length}.");

    /// <summary>Copies <paramref name="source"/> (same shape, any layout) into this view, on this tensor's
    /// stream (not recorded by autograd).</summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        RequireSameShape(source._shape, _shape, "CopyFrom");
        RecordUse(source);
        ElementwiseOps.Copy(Stream, source.Data, source.Layout, Storage.View, Layout);
    }

    /// <summary>Releases this tensor's reference to its storage (idempotent). Its gradient, if owned, too.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the storage reference and the gradient.</summary>
    protected virtual void Dispose(bool disposing)
    {
        var storage = Interlocked.Exchange(ref _storage, null);
        storage?.Release();
        var grad = Interlocked.Exchange(ref _grad, null);
        grad?.Dispose();
    }

    public override string ToString() => $"Tensor{Format(_shape)}{(RequiresGrad ? " requires_grad" : "")}{(IsAlive ? "" : " (disposed)")}";

    // ---- helpers ----------------------------------------------------------------------------------

    /// <summary>A new tensor object over this storage (one more reference); not recorded, not in a scope
    /// when <paramref name="scoped"/> is false.</summary>
    internal Tensor ViewOf(int[] shape, int[] strides, int offset, bool scoped = true)
    {
        var storage = Storage;
        storage.AddReference();
        return new Tensor(storage, shape, strides, offset, scoped);
    }

    /// <summary>Same storage and view, outside any scope: what autograd nodes save.</summary>
    internal Tensor Alias() => ViewOf(_shape, _strides, Offset, scoped: false);

    /// <summary>A new contiguous tensor with these elements (not recorded).</summary>
    internal Tensor ContiguousCopy()
    {
        var result = Empty(Accelerator, _shape, Stream);
        ElementwiseOps.Copy(Stream, Data, Layout, result.Storage.View, result.Layout);
        return result;
    }

    /// <summary>Marks that this tensor's stream uses <paramref name="other"/>'s memory.</summary>
    internal void RecordUse(Tensor other)
    {
        if (!ReferenceEquals(other.Stream, Stream))
        {
            other.Storage.Block.RecordStream(Stream);
        }
        if (!ReferenceEquals(other.Accelerator, Accelerator))
        {
            throw new ArgumentException("Tensors of different accelerators cannot be combined.");
        }
    }

    internal static int NormalizeDim(int dim, int rank)
    {
        int d = dim < 0 ? dim + rank : dim;
        if ((uint)d >= (uint)rank)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), $"Dimension {dim} is out of range for rank {rank}.");
        }
        return d;
    }

    internal static void RequireSameShape(int[] a, int[] b, string op)
    {
        if (!a.AsSpan().SequenceEqual(b))
        {
            throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} differ.");
        }
    }

    internal static string Format(IReadOnlyList<int> shape)
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < shape.Count; i++)
        {
            sb.Append(i > 0 ? ", " : "").Append(shape[i]);
        }
        return sb.Append(')').ToString();
    }
}
