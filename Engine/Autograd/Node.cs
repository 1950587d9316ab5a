namespace GanEngine.Tensors;

/// <summary>
/// The backward function of one recorded op: <see cref="BackwardFn"/> maps the gradient of the op's
/// output to one gradient per input (null where an input needs none), given the tensors the op saved.
/// </summary>
public sealed class Node
{
    private Tensor[] _saved;

    internal Node(string name, Tensor[] inputs, Tensor[] saved, BackwardFunction backward, RootBackwardFunction? rootBackward = null)
    {
        Name = name;
        Inputs = inputs;
        _saved = saved;
        BackwardFn = backward;
        RootBackwardFn = rootBackward;
    }

    /// <summary>The op's name (for messages).</summary>
    public string Name { get; }

    /// <summary>The op's inputs, in order (graph edges).</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>The tensors saved for backward (aliases that keep the storage alive).</summary>
    public IReadOnlyList<Tensor> Saved => _saved.Length > 0 || !IsReleased ? _saved : throw new InvalidOperationException(
        $"Backward through '{Name}' a second time: the graph was freed (pass retainGraph: true to Backward the first time).");

    /// <summary>True once <see cref="Release"/> ran.</summary>
    public bool IsReleased { get; private set; }

    internal BackwardFunction BackwardFn { get; }

    /// <summary>The backward for a gradient of 1 that is not materialised (this node's output is the root of
    /// <see cref="Autograd.Backward"/>), or null: then the root gets a device tensor of ones.</summary>
    internal RootBackwardFunction? RootBackwardFn { get; }

    /// <summary>Frees the saved tensors (after backward, unless the graph is retained).</summary>
    internal void Release()
    {
        foreach (var t in _saved)
        {
            t.Dispose();
        }
        _saved = [];
        IsReleased = true;
    }

    public override string ToString() => $"{Name}Backward";
}

/// <summary>Computes input gradients from the output gradient <paramref name="grad"/>; runs under
/// <see cref="Autograd.NoGrad"/>. Return an array with one entry per input (null: none needed).</summary>
public delegate Tensor?[] BackwardFunction(Node node, Tensor grad);

/// <summary>Computes input gradients when the op's output is the root of <see cref="Autograd.Backward"/>: the
/// output gradient is 1, known on the host, so no device tensor of ones is filled for it. Must return what
/// <see cref="BackwardFunction"/> returns for a gradient of ones (bit for bit).</summary>
public delegate Tensor?[] RootBackwardFunction(Node node);
