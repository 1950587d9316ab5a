using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace GanEngine.Training.IO;

/// <summary>One line of a <see cref="SvgPlot"/>: its legend name and its points (X and Y of equal length).</summary>
public sealed record SvgSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>
/// A dependency-free SVG line chart (loss curves, widths over steps): axes with "nice" tick values
/// (1, 2 or 5 times a power of ten), light grid, one coloured polyline per series and a legend.
/// Points with a non-finite X or Y break a line (NaN losses leave a gap); empty series are listed in the
/// legend as "no data"; a chart with no finite point at all still has axes and says so.
/// </summary>
public static class SvgPlot
{
    private const double Width = 820;
    private const double Height = 480;
    private const double Left = 72;
    private const double Right = 190;
    private const double Top = 44;
    private const double Bottom = 58;

    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>Tableau's ten colours: distinct, readable on white, colour-blind friendly enough.</summary>
    private static readonly string[] Palette =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>Writes the chart to <paramref name="path"/> atomically (temp file + rename).</summary>
    public static void Write(string path, string title, string xLabel, IReadOnlyList<SvgSeries> series, string? yLabel = null) =>
        AtomicFile.WriteAllText(path, Render(title, xLabel, series, yLabel));

    /// <summary>The SVG document of the chart, as text.</summary>
    public static string Render(string title, string xLabel, IReadOnlyList<SvgSeries> series, string? yLabel = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        foreach (SvgSeries s in series)
        {
            ArgumentNullException.ThrowIfNull(s);
            if (s.X.Count != s.Y.Count)
            {
                throw new ArgumentException($"series '{s.Name}' has {s.X.Count} X values but {s.Y.Count} Y values", nameof(series));
            }
        }

        (double xMin, double xMax, double yMin, double yMax, bool any) = Bounds(series);
        Axis xAxis = Axis.Nice(xMin, xMax);
        Axis yAxis = Axis.Nice(yMin, yMax);
        double plotW = Width - Left - Right;
        double plotH = Height - Top - Bottom;
        double Px(double x) => Left + ((x - xAxis.Low) / (xAxis.High - xAxis.Low) * plotW);
        double Py(double y) => Top + plotH - ((y - yAxis.Low) / (yAxis.High - yAxis.Low) * plotH);

        var root = new XElement(Svg + "svg",
            new XAttribute("width", F(Width)),
            new XAttribute("height", F(Height)),
            new XAttribute("viewBox", $"0 0 {F(Width)} {F(Height)}"),
            new XAttribute("font-family", "sans-serif"),
            new XAttribute("font-size", "12"));
        root.Add(new XElement(Svg + "title", title));
        root.Add(new XElement(Svg + "rect", new XAttribute("width", "100%"), new XAttribute("height", "100%"), new XAttribute("fill", "white")));
        root.Add(Text(Left + (plotW / 2), 26, title, "middle", "16", bold: true));

        // grid and ticks
        var grid = new XElement(Svg + "g", new XAttribute("class", "grid"), new XAttribute("stroke", "#e5e5e5"), new XAttribute("stroke-width", "1"));
        var labels = new XElement(Svg + "g", new XAttribute("class", "ticks"), new XAttribute("fill", "#333"));
        foreach (double t in xAxis.Ticks())
        {
            double x = Px(t);
            grid.Add(Line(x, Top, x, Top + plotH));
            labels.Add(Text(x, Top + plotH + 18, xAxis.Label(t), "middle"));
        }
        foreach (double t in yAxis.Ticks())
        {
            double y = Py(t);
            grid.Add(Line(Left, y, Left + plotW, y));
            labels.Add(Text(Left - 8, y + 4, yAxis.Label(t), "end"));
        }
        root.Add(grid);
        root.Add(new XElement(Svg + "rect",
            new XAttribute("class", "frame"),
            new XAttribute("x", F(Left)), new XAttribute("y", F(Top)),
            new XAttribute("width", F(plotW)), new XAttribute("height", F(plotH)),
            new XAttribute("fill", "none"), new XAttribute("stroke", "#333")));
        root.Add(labels);
        root.Add(Text(Left + plotW / 2, Height - 14, xLabel, "middle", "13"));
        if (!string.IsNullOrEmpty(yLabel))
        {
            XElement y = Text(18, Top + plotH / 2, yLabel, "middle", "13");
            y.Add(new XAttribute("transform", $"rotate(-90 18 {F(Top + plotH / 2)})"));
            root.Add(y);
        }
        if (!any)
        {
            root.Add(Text(Left + plotW / 2, Top + plotH / 2, "no data", "middle", "14"));
        }

        // lines
        for (int i = 0; i < series.Count; i++)
        {
            SvgSeries s = series[i];
            string color = Palette[i % Palette.Length];
            var group = new XElement(Svg + "g",
                new XAttribute("class", "series"),
                new XAttribute("data-name", s.Name),
                new XAttribute("stroke", color),
                new XAttribute("fill", "none"),
                new XAttribute("stroke-width", "1.6"));
            group.Add(new XElement(Svg + "title", s.Name));
            foreach (List<(double X, double Y)> segment in Segments(s))
            {
                if (segment.Count == 1)
                {
                    group.Add(new XElement(Svg + "circle",
                        new XAttribute("cx", F(Px(segment[0].X))), new XAttribute("cy", F(Py(segment[0].Y))),
                        new XAttribute("r", "2"), new XAttribute("fill", color)));
                    continue;
                }
                string points = string.Join(' ', segment.Select(p => F(Px(p.X)) + "," + F(Py(p.Y))));
                group.Add(new XElement(Svg + "polyline", new XAttribute("points", points)));
            }
            root.Add(group);
        }

        // legend
        var legend = new XElement(Svg + "g", new XAttribute("class", "legend"));
        double lx = Left + plotW + 16;
        for (int i = 0; i < series.Count; i++)
        {
            double ly = Top + 10 + (i * 20);
            string color = Palette[i % Palette.Length];
            legend.Add(new XElement(Svg + "line",
                new XAttribute("x1", F(lx)), new XAttribute("y1", F(ly)),
                new XAttribute("x2", F(lx + 22)), new XAttribute("y2", F(ly)),
                new XAttribute("stroke", color), new XAttribute("stroke-width", "2.5")));
            bool hasData = Segments(series[i]).Any();
            legend.Add(Text(lx + 28, ly + 4, hasData ? series[i].Name : series[i].Name + " (no data)", "start"));
        }
        root.Add(legend);

        var document = new XDocument(new XDeclaration("1.0", "utf-8", null), root);
        var settings = new XmlWriterSettings { Indent = true, OmitXmlDeclaration = false, Encoding = new System.Text.UTF8Encoding(false) };
        using var text = new Utf8StringWriter();
        using (var writer = XmlWriter.Create(text, settings))
        {
            document.Save(writer);
        }
        return text.ToString() + "\n";
    }

    private static IEnumerable<List<(double X, double Y)>> Segments(SvgSeries s)
    {
        var current = new List<(double, double)>();
        for (int i = 0; i < s.X.Count; i++)
        {
            double x = s.X[i];
            double y = s.Y[i];
            if (double.IsFinite(x) && double.IsFinite(y))
            {
                current.Add((x, y));
            }
            else if (current.Count > 0)
            {
                yield return current;
                current = [];
            }
        }
        if (current.Count > 0)
        {
            yield return current;
        }
    }

    private static (double XMin, double XMax, double YMin, double YMax, bool Any) Bounds(IReadOnlyList<SvgSeries> series)
    {
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity;
        double yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (SvgSeries s in series)
        {
            for (int i = 0; i < s.X.Count; i++)
            {
                double x = s.X[i];
                double y = s.Y[i];
                if (double.IsFinite(x) && double.IsFinite(y))
                {
                    xMin = Math.Min(xMin, x);
                    xMax = Math.Max(xMax, x);
                    yMin = Math.Min(yMin, y);
                    yMax = Math.Max(yMax, y);
                }
            }
        }
        bool any = xMin <= xMax;
        return any ? (xMin, xMax, yMin, yMax, true) : (0, 1, 0, 1, false);
    }

    private static XElement Line(double x1, double y1, double x2, double y2) => new(Svg + "line",
        new XAttribute("x1", F(x1)), new XAttribute("y1", F(y1)), new XAttribute("x2", F(x2)), new XAttribute("y2", F(y2)));

    private static XElement Text(double x, double y, string content, string anchor, string? size = null, bool bold = false)
    {
        var e = new XElement(Svg + "text", new XAttribute("x", F(x)), new XAttribute("y", F(y)), new XAttribute("text-anchor", anchor), content);
        if (size is not null)
        {
            e.Add(new XAttribute("font-size", size));
        }
        if (bold)
        {
            e.Add(new XAttribute("font-weight", "bold"));
        }
        return e;
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private sealed class Utf8StringWriter : StringWriter
    {
        public Utf8StringWriter()
            : base(CultureInfo.InvariantCulture)
        {
        }

        public override System.Text.Encoding Encoding => new System.Text.UTF8Encoding(false);
    }

    /// <summary>An axis range extended to "nice" tick values.</summary>
    internal readonly record struct Axis(double Low, double High, double Step)
    {
        /// <summary>
        /// The smallest range of whole multiples of a step of 1, 2 or 5 times a power of ten that covers
        /// [min, max] with about <paramref name="targetTicks"/> ticks (Heckbert's "nice numbers").
        /// </summary>
        public static Axis Nice(double min, double max, int targetTicks = 6)
        {
            if (!(max > min))
            {
                double pad = min == 0 ? 1 : Math.Abs(min) * 0.1;
                min -= pad;
                max += pad;
            }
            double step = NiceNumber(NiceNumber(max - min, round: false) / (targetTicks - 1), round: true);
            double low = Math.Floor(min / step) * step;
            double high = Math.Ceiling(max / step) * step;
            return new Axis(low, high, step);
        }

        public IEnumerable<double> Ticks()
        {
            int count = (int)Math.Round((High - Low) / Step);
            for (int i = 0; i <= count; i++)
            {
                double t = Low + (i * Step);
                yield return Math.Abs(t) < Step * 1e-9 ? 0 : t;
            }
        }

        public string Label(double value)
        {
            double magnitude = Math.Max(Math.Abs(Low), Math.Abs(High));
            if (magnitude >= 1e6 || Step < 1e-4)
            {
                return value == 0 ? "0" : value.ToString("0.###E+0", CultureInfo.InvariantCulture);
            }
            int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(Step) + 1e-9));
            return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }

        private static double NiceNumber(double x, bool round)
        {
            double exponent = Math.Floor(Math.Log10(x));
            double power = Math.Pow(10, exponent);
            double fraction = x / power;
            double nice = round
                ? fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
                : fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
            return nice * power;
        }
    }
}
