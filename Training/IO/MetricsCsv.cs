using System.Globalization;
using System.Text;

namespace GanEngine.Training.IO;

/// <summary>
/// The metrics table of a run (<c>metrics.csv</c>): a header row of column names, one of which is
/// <c>step</c>, then one row of numbers per logged step, written with the invariant culture (shortest
/// round-trip form; NaN and ±Infinity spelled as such, which Python and pandas read too) and flushed
/// after every row, so that a crash loses at most the row being written.
/// </summary>
/// <remarks>
/// On resume (<see cref="Resume"/>) the rows of steps after the resumed checkpoint (written after it by
/// the interrupted run) and any partial last row are removed, so that the continued run does not
/// duplicate steps.
/// </remarks>
public sealed class MetricsCsv : IDisposable
{
    /// <summary>The usual file name inside a run directory.</summary>
    public const string FileName = "metrics.csv";

    /// <summary>The column that holds the step (required).</summary>
    public const string StepColumnName = "step";

    private readonly StreamWriter writer;
    private readonly StringBuilder line = new();

    private MetricsCsv(string path, IReadOnlyList<string> columns, StreamWriter writer)
    {
        FilePath = path;
        Columns = columns;
        this.writer = writer;
    }

    /// <summary>The file written.</summary>
    public string FilePath { get; }

    /// <summary>The column names, in file order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Starts a new table (replacing any file at <paramref name="path"/>) with a header row.</summary>
    public static MetricsCsv Create(string path, IReadOnlyList<string> columns)
    {
        string[] names = CheckColumns(columns);
        CreateDirectoryOf(path);
        var writer = new StreamWriter(path, append: false, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        writer.WriteLine(string.Join(',', names));
        return new MetricsCsv(path, names, writer);
    }

    /// <summary>
    /// Continues the table of a resumed run: rows with a step after <paramref name="resumedStep"/> (and a
    /// partial last row) are removed, then rows are appended. Creates the file when there is none.
    /// </summary>
    /// <exception cref="InvalidDataException">The existing file has a different header.</exception>
    public static MetricsCsv Resume(string path, IReadOnlyList<string> columns, long resumedStep)
    {
        string[] names = CheckColumns(columns);
        if (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            return Create(path, names);
        }
        string header = string.Join(',', names);
        string text = File.ReadAllText(path, Encoding.UTF8);
        string[] lines = text.Split('\n');
        if (lines[0].TrimEnd('\r') != header)
        {
            throw new InvalidDataException(
                $"{path}: cannot resume: the header '{lines[0].TrimEnd('\r')}' differs from the columns '{header}' of this run");
        }

        int stepIndex = Array.IndexOf(names, StepColumnName);
        var kept = new StringBuilder(text.Length).Append(header).Append('\n');
        bool changed = !text.EndsWith('\n');
        for (int i = 1; i < lines.Length; i++)
        {
            string row = lines[i].TrimEnd('\r');
            if (row.Length == 0)
            {
                continue;
            }
            string[] fields = row.Split(',');
            bool complete = fields.Length == names.Length && (i < lines.Length - 1);
            if (complete && TryParse(fields[stepIndex], out double step) && step <= resumedStep)
            {
                kept.Append(row).Append('\n');
            }
            else
            {
                changed = true;
            }
        }
        if (changed)
        {
            AtomicFile.WriteAllText(path, kept.ToString());
        }
        var writer = new StreamWriter(path, append: true, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        return new MetricsCsv(path, names, writer);
    }

    /// <summary>Appends one row (one value per column, in column order) and flushes it.</summary>
    public void Append(params ReadOnlySpan<double> values)
    {
        if (values.Length != Columns.Count)
        {
            throw new ArgumentException($"a row of {FileName} has {Columns.Count} values ({string.Join(", ", Columns)}), got {values.Length}", nameof(values));
        }
        line.Clear();
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }
            line.Append(Format(values[i]));
        }
        writer.WriteLine(line);
    }

    public void Dispose() => writer.Dispose();

    /// <summary>Reads a metrics table (e.g. to plot it); partial or malformed rows are skipped.</summary>
    public static MetricsTable Read(string path)
    {
        string[] lines = File.ReadAllText(path, Encoding.UTF8).Split('\n');
        string[] columns = lines[0].TrimEnd('\r').Split(',');
        var rows = new List<double[]>();
        for (int i = 1; i < lines.Length; i++)
        {
            string[] fields = lines[i].TrimEnd('\r').Split(',');
            if (fields.Length != columns.Length)
            {
                continue;
            }
            double[] row = new double[columns.Length];
            bool ok = true;
            for (int c = 0; c < fields.Length && ok; c++)
            {
                ok = TryParse(fields[c], out row[c]);
            }
            if (ok)
            {
                rows.Add(row);
            }
        }
        return new MetricsTable(columns, rows);
    }

    /// <summary>A value as this table writes it: invariant culture, shortest round-trip.</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static bool TryParse(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static string[] CheckColumns(IReadOnlyList<string> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        string[] names = columns.ToArray();
        if (!names.Contains(StepColumnName))
        {
            throw new ArgumentException($"the columns of {FileName} must include '{StepColumnName}'", nameof(columns));
        }
        foreach (string name in names)
        {
            if (string.IsNullOrEmpty(name) || name.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                throw new ArgumentException($"column name '{name}' is empty or has a comma, quote or line break", nameof(columns));
            }
        }
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Length)
        {
            throw new ArgumentException("column names must be unique", nameof(columns));
        }
        return names;
    }

    private static void CreateDirectoryOf(string path)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }
}

/// <summary>The contents of a metrics table.</summary>
public sealed record MetricsTable(IReadOnlyList<string> Columns, IReadOnlyList<double[]> Rows)
{
    /// <summary>The values of one column, one per row.</summary>
    public double[] Column(string name)
    {
        int index = Columns.ToList().IndexOf(name);
        if (index < 0)
        {
            throw new ArgumentException($"no column '{name}' (columns: {string.Join(", ", Columns)})", nameof(name));
        }
        return Rows.Select(r => r[index]).ToArray();
    }
}
