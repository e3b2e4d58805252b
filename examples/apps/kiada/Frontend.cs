using System.Net;

namespace Kiada;

/// <summary>The frontend role's page: its own name, a quote and a quiz question, each with the pod that answered.</summary>
internal static class Frontend
{
    public static async Task RenderAsync(HttpContext context, Backends backends, string podName)
    {
        var quote = backends.GetAsync(backends.Quote, context.RequestAborted);
        var quiz = backends.GetAsync(backends.Quiz, context.RequestAborted);
        var quoteLine = Line("quote", await quote.ConfigureAwait(false), Texts.QuoteSuffix);
        var quizLine = Line("quiz", await quiz.ConfigureAwait(false), Texts.QuizSuffix);
        string[] lines = ["Kiada", $"frontend: {podName}", quoteLine.Text, quizLine.Text];

        context.Response.StatusCode = quoteLine.Ok && quizLine.Ok ? StatusCodes.Status200OK : StatusCodes.Status502BadGateway;
        if (WantsHtml(context.Request))
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            var items = string.Concat(lines.Skip(1).Select(l => $"<li>{WebUtility.HtmlEncode(l)}</li>\n"));
            await context.Response.WriteAsync(
                $"<!DOCTYPE html>\n<html><head><title>Kiada</title></head>\n<body><h1>Kiada</h1>\n<ul>\n{items}</ul></body></html>\n",
                context.RequestAborted).ConfigureAwait(false);
            return;
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(string.Join('\n', lines) + "\n", context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>`quote: &lt;pod&gt; | &lt;text&gt;` from a body `&lt;text&gt; (quote pod &lt;pod&gt;)`.</summary>
    private static (string Text, bool Ok) Line(string name, BackendAnswer answer, string suffix)
    {
        if (answer.Body is not { } body)
        {
            return ($"{name}: unavailable ({answer.Error})", false);
        }
        var at = body.LastIndexOf(suffix, StringComparison.Ordinal);
        if (at < 0 || !body.EndsWith(')'))
        {
            return ($"{name}: unavailable (unexpected answer: {body})", false);
        }
        var pod = body[(at + suffix.Length)..^1];
        return ($"{name}: {pod} | {body[..at]}", true);
    }

    private static bool WantsHtml(HttpRequest request) =>
        request.Headers.Accept.Any(a => a is not null && a.Contains("text/html", StringComparison.OrdinalIgnoreCase));
}
