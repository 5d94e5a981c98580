"""``{% fixed %}…{% endfixed %}``: a run of the page shell rendered once per process and language.

Every page repeats the same header and footer: a dozen links reversed, a dozen sentences translated, the
static files' hashed names, each a template node rendered anew; together about half the CPU of a signed-in
page whose body is cached. A ``fixed`` block renders them once per language (and script prefix, URLconf and
autoescaping, which the links and escaping depend on) and serves the text after that.

Only what cannot differ between requests is allowed inside: text, ``{% translate "literal" %}``,
``{% url 'name' %}`` without arguments and ``{% static 'path' %}``. Anything else (a variable, a tag that reads
the context) is refused when the template is compiled, so no account's value can be served to another. A link
is reversed without the request's current app: the site mounts each app once, so the app's own namespace
names the one instance there is.
"""

from django import template
from django.conf import settings
from django.template.base import FilterExpression, Node, NodeList, Parser, TextNode, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.templatetags.i18n import TranslateNode
from django.templatetags.static import StaticNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

#: At most this many renderings kept per block: languages times script prefixes (the prefix comes from the request).
MOST_KEPT = 32


def _literal(expression: FilterExpression) -> bool:
    """A quoted string without filters (the parser keeps it as a ``str``, ``{% translate %}`` as a ``Variable``)."""
    var = expression.var
    return not expression.filters and (isinstance(var, str) or var.literal is not None)


def _constant(node: Node) -> bool:
    if isinstance(node, TextNode):
        return True
    if isinstance(node, TranslateNode):
        return not node.asvar and node.message_context is None and _literal(node.filter_expression)
    if isinstance(node, URLNode):
        return not node.args and not node.kwargs and not node.asvar and _literal(node.view_name)
    if isinstance(node, StaticNode):
        return node.varname is None and _literal(node.path)
    return False


class FixedNode(Node):
    child_nodelists = ()  # it holds no block: {% extends %}, which walks the tree for blocks at every page, skips it

    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist
        self.rendered: dict[tuple[str | None, str, str | None, bool], SafeString] = {}

    def render(self, context: Context) -> SafeString:
        key = (get_language(), get_script_prefix(), get_urlconf(settings.ROOT_URLCONF), context.autoescape)
        text = self.rendered.get(key)
        if text is None:
            text = self.nodelist.render(context)
            if len(self.rendered) < MOST_KEPT:
                self.rendered[key] = text
        return text


@register.tag
def fixed(parser: Parser, token: Token) -> FixedNode:
    nodelist = parser.parse(("endfixed",))
    parser.delete_first_token()
    for node in nodelist:
        if not _constant(node):
            raise template.TemplateSyntaxError(f"{{% fixed %}} holds only what no request changes, not {node!r}")
    return FixedNode(nodelist)
