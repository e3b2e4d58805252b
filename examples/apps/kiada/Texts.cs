namespace Kiada;

/// <summary>The quote and quiz roles' answers: a fixed list each, one entry chosen at random per request.</summary>
internal static class Texts
{
    private static readonly string[] s_quotes =
    [
        "Simplicity is prerequisite for reliability. - Edsger W. Dijkstra",
        "Premature optimization is the root of all evil. - Donald Knuth",
        "Make it work, make it right, make it fast. - Kent Beck",
        "There are only two hard things in Computer Science: cache invalidation and naming things. - Phil Karlton",
        "Talk is cheap. Show me the code. - Linus Torvalds",
        "Programs must be written for people to read, and only incidentally for machines to execute. - Harold Abelson",
        "The best way to predict the future is to invent it. - Alan Kay",
        "Everything should be made as simple as possible, but not simpler. - Albert Einstein",
        "A distributed system is one in which the failure of a computer you didn't even know existed can render your own computer unusable. - Leslie Lamport",
        "It's not a bug, it's an undocumented feature. - Anonymous",
    ];

    private static readonly string[] s_questions =
    [
        "What is the smallest deployable unit in Kubernetes?",
        "Which object keeps a set of identical pods running?",
        "What gives a set of pods one stable virtual IP?",
        "Which probe decides whether a pod receives Service traffic?",
        "Which Service type has no cluster IP?",
        "What does a Deployment create to roll out a new template?",
        "Which DNS name does a Service named quote in namespace default get?",
        "What sends a container SIGTERM before SIGKILL?",
        "Which field gives a pod its own name through the downward API?",
        "What lists the ready addresses behind a Service?",
    ];

    /// <summary>The suffix that names the pod: the frontend splits the answer at it.</summary>
    public static string QuoteSuffix => " (quote pod ";

    public static string QuizSuffix => " (quiz pod ";

    public static string Quote(string podName) => $"{Pick(s_quotes)}{QuoteSuffix}{podName})";

    public static string Question(string podName) => $"{Pick(s_questions)}{QuizSuffix}{podName})";

    // Not security relevant: which quote a reader sees.
#pragma warning disable CA5394
    private static string Pick(string[] items) => items[Random.Shared.Next(items.Length)];
#pragma warning restore CA5394
}
