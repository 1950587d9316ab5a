namespace GanEngine.Tensors;

/// <summary>
/// The backward function of one recorded op: <see cref="BackwardFn"/> maps the gradient of the op's
/// output to one gradient per input (null where an input needs none), given the tensors the op saved.
/// </summary>
public sealed class Node
{
    private Tensor[] _saved;

    internal Node(string name, Tensor[] inputs, Tensor[] saved, BackwardFunction backward)
    {
        Name = name;
        Inputs = inputs;
        _saved = saved;
        BackwardFn = backward;
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
