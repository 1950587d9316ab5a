using System.Runtime.InteropServices;
using GanEngine.Accelerators;
using GanEngine.Ops.Optim;
using GanEngine.Tensors;

namespace GanEngine.Nn;

/// <summary>
/// <c>torch.optim.Adam</c> / <c>AdamW</c> over a set of parameters: one fused kernel per (up to) eight
/// parameters and step (<see cref="Optimizers.AdamMany"/>; <see cref="Optimizers.Adam"/> for masked ones), moments allocated at construction (from the caching
/// allocator), the step count on the host, so a step never waits for the device. An optional mask per
/// parameter keeps masked weights and their moments exactly zero (sparse training).
/// </summary>
public sealed class Adam : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor?[] _mask;
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly List<AdamTensor> _batch = [];
    private long _step;

    /// <param name="parameters">The parameters to update (their <see cref="Tensor.Grad"/> is read).</param>
    /// <param name="hyperparameters">Learning rate, betas, eps, weight decay; PyTorch's defaults when omitted.</param>
    /// <param name="decoupledWeightDecay">AdamW (decoupled decay) instead of Adam's L2 term.</param>
    public Adam(IEnumerable<Parameter> parameters, AdamHyperparameters? hyperparameters = null, bool decoupledWeightDecay = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = [.. parameters];
        Hyperparameters = hyperparameters ?? AdamHyperparameters.Adam;
        Hyperparameters.Validate();
        DecoupledWeightDecay = decoupledWeightDecay;
        _mask = new Tensor?[_parameters.Length];
        // The moments belong to the optimizer, not to any scope open now.
        _expAvg = [.. _parameters.Select(p => TensorScope.Own(Tensor.Zeros(p.Accelerator, p.ShapeArray(), p.Stream)))];
        _expAvgSq = [.. _parameters.Select(p => TensorScope.Own(Tensor.Zeros(p.Accelerator, p.ShapeArray(), p.Stream)))];
    }

    public AdamHyperparameters Hyperparameters { get; set; }

    public bool DecoupledWeightDecay { get; }

    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Steps taken so far (PyTorch's <c>state['step']</c>); set when restoring a checkpoint.</summary>
    public long StepCount
    {
        get => _step;
        set => _step = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The step count cannot be negative.");
    }

    /// <summary>The first moment (<c>exp_avg</c>) of parameter <paramref name="index"/>: checkpoints read and restore it.</summary>
    public Tensor FirstMoment(int index) => _expAvg[index];

    /// <summary>The second moment (<c>exp_avg_sq</c>) of parameter <paramref name="index"/>.</summary>
    public Tensor SecondMoment(int index) => _expAvgSq[index];

    /// <summary>Keeps parameter <paramref name="index"/> zero where <paramref name="mask"/> is 0 (same shape;
    /// the optimizer keeps a reference, the caller keeps ownership). Null removes the mask.</summary>
    public void SetMask(int index, Tensor? mask)
    {
        if (mask is not null && mask.Length != _parameters[index].Length)
        {
            throw new ArgumentException($"The mask has {mask.Length} elements, parameter {index} has {_parameters[index].Length}.");
        }
        _mask[index] = mask;
    }

    /// <summary>One update of every parameter that has a gradient: the unmasked ones several per launch
    /// (<see cref="Optimizers.AdamMany"/>, bit-identical to one launch each), masked ones one launch each.</summary>
    public void Step()
    {
        _step++;
        var h = Hyperparameters;
        var batch = _batch;
        AcceleratorStream? batchStream = null;
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (p.Grad is not { } grad)
            {
                continue;
            }
            var m = _expAvg[i];
            var v = _expAvgSq[i];
            if (_mask[i] is { } mask)
            {
                if (DecoupledWeightDecay)
                {
                    Optimizers.AdamW(p.Stream, p.DenseView, grad.DenseView, m.DenseView, v.DenseView, p.Length, _step, h, mask.DenseView);
                }
                else
                {
                    Optimizers.Adam(p.Stream, p.DenseView, grad.DenseView, m.DenseView, v.DenseView, p.Length, _step, h, mask.DenseView);
                }
                continue;
            }
            if (batchStream is not null && !ReferenceEquals(batchStream, p.Stream))
            {
                StepMany(batchStream, batch, h);
            }
            batchStream = p.Stream;
            batch.Add(new AdamTensor(p.DenseView, grad.DenseView, m.DenseView, v.DenseView, p.Length));
        }
        if (batchStream is not null)
        {
            StepMany(batchStream, batch, h);
        }
    }

    private void StepMany(AcceleratorStream stream, List<AdamTensor> batch, in AdamHyperparameters h)
    {
        if (batch.Count == 1)
        {
            var t = batch[0];
            if (DecoupledWeightDecay)
            {
                Optimizers.AdamW(stream, t.Param, t.Grad, t.ExpAvg, t.ExpAvgSq, t.N, _step, h);
            }
            else
            {
                Optimizers.Adam(stream, t.Param, t.Grad, t.ExpAvg, t.ExpAvgSq, t.N, _step, h);
            }
        }
        else if (batch.Count > 1)
        {
            Optimizers.AdamMany(stream, CollectionsMarshal.AsSpan(batch), _step, h, DecoupledWeightDecay);
        }
        batch.Clear();
    }

    /// <summary>Clears every parameter's gradient (<c>optimizer.zero_grad()</c>: set to none).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            p.ZeroGrad();
        }
    }

    public void Dispose()
    {
        foreach (var t in _expAvg.Concat(_expAvgSq))
        {
            t.Dispose();
        }
    }
}
