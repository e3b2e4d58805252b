using System.Text;

namespace Berth;

/// <summary>
/// Everything berth prints goes through here, so that a live block (the progress and status of <c>berth up</c>)
/// can sit at the bottom of a terminal: a line or text written while the block is shown clears it first and
/// draws it again below. Without a terminal (output redirected) there is no live block at all, only lines.
/// </summary>
internal static class ConsoleView
{
    private static readonly Lock s_lock = new();
    private static IReadOnlyList<string> s_live = [];
    private static int s_drawn;

    /// <summary>Whether stdout is a terminal that takes ANSI cursor movement.</summary>
    public static bool IsTerminal { get; } = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    /// <summary>One line on stdout.</summary>
    public static void Line(string line) => Write(Console.Out, line + "\n");

    /// <summary>One line on stderr.</summary>
    public static void Error(string line) => Write(Console.Error, line + "\n");

    /// <summary>Several lines on stdout in one piece: nothing else written meanwhile comes between them.</summary>
    public static void Text(string text) => Write(Console.Out, text);

    /// <summary>Replaces the live block (terminal only; empty removes it).</summary>
    public static void Live(IReadOnlyList<string> lines)
    {
        if (!IsTerminal)
        {
            return;
        }
        lock (s_lock)
        {
            var text = new StringBuilder();
            Erase(text);
            s_live = lines;
            Draw(text);
            Console.Out.Write(text.ToString());
            Console.Out.Flush();
        }
    }

    private static void Write(TextWriter writer, string text)
    {
        lock (s_lock)
        {
            if (s_drawn == 0)
            {
                writer.Write(text);
                writer.Flush();
                return;
            }
            var erase = new StringBuilder();
            Erase(erase);
            Console.Out.Write(erase.ToString());
            Console.Out.Flush();
            writer.Write(text);
            writer.Flush();
            var draw = new StringBuilder();
            Draw(draw);
            Console.Out.Write(draw.ToString());
            Console.Out.Flush();
        }
    }

    // Up to the block's first line, then clear to the end of the screen.
    private static void Erase(StringBuilder text)
    {
        if (s_drawn > 0)
        {
            text.Append("\x1b[").Append(s_drawn).Append("A\r\x1b[J");
            s_drawn = 0;
        }
    }

    // Lines are cut to the terminal's width: a wrapped line would take two rows and the next erase would miss one.
    private static void Draw(StringBuilder text)
    {
        var width = Width();
        foreach (var line in s_live)
        {
            text.Append(line.Length < width ? line : line[..Math.Max(0, width - 1)]).Append('\n');
        }
        s_drawn = s_live.Count;
    }

    private static int Width()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }
}
