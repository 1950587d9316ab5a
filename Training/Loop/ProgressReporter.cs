using System.Globalization;

namespace GanEngine.Training.Loop;

/// <summary>
/// The training progress line: step, bar, it/s, losses, D scores and ETA. On a terminal it redraws one
/// line in place; when the output is redirected (CI logs, files) it prints a line per report instead.
/// </summary>
public sealed class ProgressReporter(TextWriter output, long totalSteps, bool interactive)
{
    private const int BarWidth = 24;
    private string? _notice;

    /// <summary>A message shown once under the progress line (architecture changes, checkpoints).</summary>
    public void Notice(string message)
    {
        if (interactive)
        {
            output.Write("\r\u001b[2K");
        }
        output.WriteLine(message);
        _notice = message;
    }

    /// <summary>Shows the state at <paramref name="step"/>.</summary>
    public void Report(long step, double stepsPerSecond, double imagesPerSecond, StepValues values, TimeSpan elapsed)
    {
        double fraction = totalSteps > 0 ? System.Math.Clamp(step / (double)totalSteps, 0, 1) : 0;
        int filled = (int)(fraction * BarWidth);
        string bar = new string('=', filled) + (filled < BarWidth ? ">" : "") + new string(' ', System.Math.Max(0, BarWidth - filled - 1));
        var eta = stepsPerSecond > 0 ? TimeSpan.FromSeconds((totalSteps - step) / stepsPerSecond) : TimeSpan.Zero;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"step {step,7}/{totalSteps} [{bar}] {fraction * 100,3:F0}% {stepsPerSecond,7:F2} it/s {imagesPerSecond,8:F0} img/s | " +
            $"D {values.LossD:F3} G {values.LossG:F3} D(x) {values.RealScore:F2} D(G(z)) {values.FakeScore:F2} | {Clock(elapsed)} ETA {Clock(eta)}");
        if (interactive)
        {
            output.Write("\r\u001b[2K" + line);
        }
        else
        {
            output.WriteLine(line);
        }
        output.Flush();
        _notice = null;
    }

    /// <summary>Ends the progress line.</summary>
    public void Finish()
    {
        if (interactive && _notice is null)
        {
            output.WriteLine();
        }
    }

    private static string Clock(TimeSpan t) =>
        t.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}")
                          : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes:D2}:{t.Seconds:D2}");
}
