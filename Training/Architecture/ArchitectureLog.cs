using System.Globalization;
using System.Text;
using GanEngine.Training.IO;

namespace GanEngine.Training.Architecture;

/// <summary>
/// <c>architecture.csv</c> of a run: one row per change (step, network, layer, action, old and new width,
/// parameters, GFLOP per image per step), rewritten atomically on every change; on resume, rows after the
/// resumed step are dropped (they will be made again). Also draws <c>architecture.svg</c>: each hidden
/// width and the parameter counts over the steps.
/// </summary>
public sealed class ArchitectureLog
{
    public const string FileName = "architecture.csv";
    private const string Header = "step,network,layer,action,old_width,new_width,g_params,d_params,step_gflop_per_image";
    private readonly string _path;
    private readonly List<string> _rows = [];

    public ArchitectureLog(string runDirectory, long resumedStep = -1)
    {
        _path = Path.Combine(runDirectory, FileName);
        if (resumedStep >= 0 && File.Exists(_path))
        {
            _rows.AddRange(File.ReadAllLines(_path).Skip(1).Where(l => l.Length > 0 &&
                long.Parse(l.AsSpan(0, l.IndexOf(',', StringComparison.Ordinal)), CultureInfo.InvariantCulture) <= resumedStep));
        }
    }

    /// <summary>Changes logged so far (rows of the file).</summary>
    public int Count => _rows.Count;

    public void Add(ArchitectureChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        _rows.Add(string.Create(CultureInfo.InvariantCulture,
            $"{change.Step},{change.Network},{change.Link},{change.Action},{change.OldWidth},{change.NewWidth},{change.GParameters},{change.DParameters},{change.StepGflopsPerImage:R}"));
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var r in _rows)
        {
            sb.Append(r).Append('\n');
        }
        AtomicFile.WriteAllText(_path, sb.ToString());
    }

    /// <summary>Draws the widths (per layer, steps as x) from the log and the run's starting widths.</summary>
    public void WritePlot(string svgPath, IReadOnlyDictionary<string, int> startWidths, long lastStep)
    {
        ArgumentNullException.ThrowIfNull(startWidths);
        var series = new List<SvgSeries>();
        foreach (var (layer, start) in startWidths)
        {
            var x = new List<double> { 0 };
            var y = new List<double> { start };
            foreach (var row in _rows.Select(r => r.Split(',')).Where(p => $"{p[1]}.{p[2]}" == layer))
            {
                double step = double.Parse(row[0], CultureInfo.InvariantCulture);
                x.Add(step);
                y.Add(y[^1]);
                x.Add(step);
                y.Add(double.Parse(row[5], CultureInfo.InvariantCulture));
            }
            x.Add(lastStep);
            y.Add(y[^1]);
            series.Add(new SvgSeries(layer, x, y));
        }
        SvgPlot.Write(svgPath, "Hidden widths over training", "step", series, "channels");
    }
}
