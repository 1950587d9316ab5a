using System.Xml.Linq;
using GanEngine.Training.IO;
using NUnit.Framework;

namespace GanEngine.Tests.TrainingIO;

public sealed class RunOutputTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly string[] Columns = ["step", "loss_d", "loss_g"];

    private string dir = "";

    [SetUp]
    public void SetUp()
    {
        dir = Path.Combine(Path.GetTempPath(), "ganengine-run-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(dir, recursive: true);

    [Test]
    public void MetricsCsvWritesAHeaderAndInvariantRows()
    {
        string path = Path.Combine(dir, MetricsCsv.FileName);
        using (var csv = MetricsCsv.Create(path, Columns))
        {
            csv.Append(50, 1.25, 0.1);
            csv.Append(100, double.NaN, 1e-7);
            csv.Append(150, double.PositiveInfinity, -2.5e12);
            // flushed per row: the file already has them while it is open
            Assert.That(ReadShared(path), Is.EqualTo("step,loss_d,loss_g\n50,1.25,0.1\n100,NaN,1E-07\n150,Infinity,-2500000000000\n"));
            Assert.Throws<ArgumentException>(() => csv.Append(1, 2));
        }
        MetricsTable table = MetricsCsv.Read(path);
        Assert.That(table.Columns, Is.EqualTo(Columns));
        Assert.That(table.Column("step"), Is.EqualTo(new[] { 50.0, 100, 150 }));
        Assert.That(table.Column("loss_g"), Is.EqualTo(new[] { 0.1, 1e-7, -2.5e12 }));
        Assert.That(double.IsNaN(table.Column("loss_d")[1]));
    }

    [Test]
    public void MetricsCsvNeedsAStepColumn()
    {
        Assert.Throws<ArgumentException>(() => MetricsCsv.Create(Path.Combine(dir, "m.csv"), ["loss"]));
        Assert.Throws<ArgumentException>(() => MetricsCsv.Create(Path.Combine(dir, "m.csv"), ["step", "a,b"]));
        Assert.Throws<ArgumentException>(() => MetricsCsv.Create(Path.Combine(dir, "m.csv"), ["step", "step"]));
    }

    [Test]
    public void ResumeDropsRowsAfterTheResumedStepAndAPartialRow()
    {
        string path = Path.Combine(dir, MetricsCsv.FileName);
        using (var csv = MetricsCsv.Create(path, Columns))
        {
            for (int step = 10; step <= 40; step += 10)
            {
                csv.Append(step, step * 0.5, -step);
            }
        }
        File.AppendAllText(path, "50,25"); // the crash hit mid-row

        using (var csv = MetricsCsv.Resume(path, Columns, resumedStep: 20))
        {
            Assert.That(File.ReadAllText(path), Is.EqualTo("step,loss_d,loss_g\n10,5,-10\n20,10,-20\n"));
            csv.Append(30, 99, 98);
        }
        Assert.That(MetricsCsv.Read(path).Column("step"), Is.EqualTo(new[] { 10.0, 20, 30 }), "no duplicate steps");
        Assert.That(File.Exists(path + ".tmp"), Is.False);

        // resuming at the last written step keeps everything
        using (var csv = MetricsCsv.Resume(path, Columns, resumedStep: 30))
        {
            csv.Append(40, 1, 2);
        }
        Assert.That(MetricsCsv.Read(path).Column("step"), Is.EqualTo(new[] { 10.0, 20, 30, 40 }));
    }

    [Test]
    public void ResumeCreatesAMissingFileAndRefusesAnotherHeader()
    {
        string path = Path.Combine(dir, "new", MetricsCsv.FileName);
        using (var csv = MetricsCsv.Resume(path, Columns, resumedStep: 100))
        {
            csv.Append(150, 1, 2);
        }
        Assert.That(File.ReadAllText(path), Is.EqualTo("step,loss_d,loss_g\n150,1,2\n"));
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => MetricsCsv.Resume(path, ["step", "fid"], 100))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("step,loss_d,loss_g"));
    }

    [Test]
    public void SvgIsWellFormedWithOneGroupPerSeries()
    {
        string path = Path.Combine(dir, "loss.svg");
        double[] steps = [0, 50, 100, 150, 200, 250];
        SvgSeries d = new("loss_d", steps, [1.4, 1.2, 1.1, double.NaN, 0.9, 0.95]);
        SvgSeries g = new("loss_g <G & \"EMA\">", steps, [0.7, 1.5, 2.0, 2.2, 2.1, 2.4]);
        SvgPlot.Write(path, "Losses: D & G", "step", [d, g], yLabel: "loss");
        Assert.That(File.Exists(path + ".tmp"), Is.False);

        XDocument doc = XDocument.Load(path);
        Assert.That(doc.Root!.Name, Is.EqualTo(Svg + "svg"));
        List<XElement> groups = doc.Root.Elements(Svg + "g").Where(e => (string?)e.Attribute("class") == "series").ToList();
        Assert.That(groups.Select(e => (string?)e.Attribute("data-name")), Is.EqualTo(new[] { "loss_d", "loss_g <G & \"EMA\">" }));
        Assert.That(groups[0].Elements(Svg + "polyline").Count(), Is.EqualTo(2), "the NaN splits the line");
        Assert.That(groups[0].Elements(Svg + "polyline").First().Attribute("points")!.Value.Split(' '), Has.Length.EqualTo(3));
        Assert.That(groups[1].Elements(Svg + "polyline").Single().Attribute("points")!.Value.Split(' '), Has.Length.EqualTo(6));
        string text = string.Join("|", doc.Descendants(Svg + "text").Select(t => t.Value));
        Assert.That(text, Does.Contain("Losses: D & G").And.Contain("loss_g <G & \"EMA\">").And.Contain("step"));
        Assert.That(text, Does.Contain("|200|").And.Contain("|300|"), "nice x ticks");

        foreach (XElement polyline in doc.Descendants(Svg + "polyline"))
        {
            foreach (string point in polyline.Attribute("points")!.Value.Split(' '))
            {
                double[] xy = point.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                Assert.That(xy[0], Is.InRange(72.0, 630.0));
                Assert.That(xy[1], Is.InRange(44.0, 422.0));
            }
        }
    }

    [Test]
    public void SvgHandlesEmptyAndAllNaNSeries()
    {
        string path = Path.Combine(dir, "empty.svg");
        SvgPlot.Write(path, "nothing yet", "step", []);
        XDocument empty = XDocument.Load(path);
        Assert.That(empty.Descendants(Svg + "text").Select(t => t.Value), Does.Contain("no data"));

        SvgPlot.Write(path, "partly", "step", [new SvgSeries("a", [], []), new SvgSeries("b", [1, 2], [double.NaN, double.NaN]), new SvgSeries("c", [3], [4])]);
        XDocument doc = XDocument.Load(path);
        Assert.That(doc.Descendants(Svg + "text").Select(t => t.Value), Does.Contain("a (no data)").And.Contain("b (no data)").And.Contain("c"));
        Assert.That(doc.Descendants(Svg + "circle").Count(), Is.EqualTo(1), "a single point is drawn as a dot");
        Assert.Throws<ArgumentException>(() => SvgPlot.Render("t", "x", [new SvgSeries("bad", [1, 2], [1])]));
    }

    [TestCase(0, 97, 0, 100, 20)]
    [TestCase(0.0013, 0.0091, 0.0, 0.01, 0.002)]
    [TestCase(-3.2, 7.9, -5, 10, 5)]
    [TestCase(5, 5, 4.4, 5.6, 0.2)]
    [TestCase(0, 20000, 0, 20000, 5000)]
    public void AxesUseNiceTicks(double min, double max, double low, double high, double step)
    {
        var axis = SvgPlot.Axis.Nice(min, max);
        Assert.That(axis.Low, Is.EqualTo(low).Within(1e-12));
        Assert.That(axis.High, Is.EqualTo(high).Within(1e-12));
        Assert.That(axis.Step, Is.EqualTo(step).Within(1e-12));
        Assert.That(axis.Ticks().First(), Is.EqualTo(low).Within(1e-12));
        Assert.That(axis.Ticks().Last(), Is.EqualTo(high).Within(1e-9));
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
