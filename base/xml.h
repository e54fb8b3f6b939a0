/*
 * xml.h - the one XML reader and the one XML escaper of s3warden.
 *
 * The documents we read are small, machine-written and untrusted: S3
 * request bodies (DeleteObjects, tagging, retention, CreateBucket), the
 * upstream's ListBuckets answer and error bodies, STS responses. So the
 * reader is a pull tokenizer over a complete document in memory, not a
 * general parser: it allocates nothing, never writes, and refuses whatever
 * a byte-level reading could take differently from a client's XML parser.
 *
 * What it accepts (XML 1.0, the subset these documents use):
 *  - an optional UTF-8 byte order mark, then an optional XML declaration
 *    "<?xml" ws ... "?>" holding only names, '=', quotes and whitespace
 *    (no markup can hide in it), first in the document only;
 *  - exactly one root element; whitespace and comments around it;
 *  - start tags with attributes (Name ws* '=' ws* quoted value; a value
 *    holds no '<' and no '&'); end tags must close the open element;
 *    "<a/>" is reported as a START (empty set) followed by its END;
 *  - text with the five predefined entities and decimal/hex character
 *    references to XML Chars (checked here, decoded by s3w_xml_decode);
 *    a raw control byte other than TAB, LF, CR is refused;
 *  - CDATA sections inside text, comments between tokens ("--" inside a
 *    comment is refused), unless S3W_XML_PLAIN refuses both.
 * It refuses every other "<!" (DOCTYPE, so no entity can be declared),
 * processing instructions after the declaration, nesting deeper than the
 * caller's limit, and anything after the root but whitespace and comments.
 * It does not check UTF-8 or namespaces: names are compared as bytes, and
 * each caller decides what a prefix or an attribute means to it.
 *
 * Errors: every function returns 0 or S3W_E_INVAL (S3W_E_TOOBIG when an
 * output is too small); after an error the reader must not be used again.
 */
#ifndef S3W_XML_H
#define S3W_XML_H

#include "bytes.h"

/* The deepest nesting a reader can track (the root is depth 1). */
#define S3W_XML_MAX_DEPTH 16

enum s3w_xml_kind {
    S3W_XML_EOF = 0, /* the document ended well-formed */
    S3W_XML_START,   /* name, attrs, empty */
    S3W_XML_END,     /* name */
    S3W_XML_TEXT,    /* raw: character data, references and CDATA, undecoded */
};

enum {
    /* Refuse comments and CDATA sections: for a document that is also
     * copied or compared byte for byte, where either could hide a name. */
    S3W_XML_PLAIN = 1 << 0,
};

struct s3w_xml {
    /* ---- the current token, valid until the next call ---- */
    enum s3w_xml_kind kind;
    struct s3w_slice name;   /* START, END: the element name, as written */
    struct s3w_slice attrs;  /* START: its attributes, from the first one's name to
                              * the last one's closing quote; empty when it has
                              * none (whitespace before '>' or "/>" is not one) */
    struct s3w_slice raw;    /* every byte of the token (empty for the END of
                              * "<a/>", positioned just after it) */
    bool empty;              /* START: written "<a/>" */
    bool ws_only;            /* TEXT: whitespace only */
    bool after_comment;      /* a comment came just before this token */
    int depth;               /* elements open after this token */

    /* ---- private ---- */
    const char *p, *end;
    unsigned flags;
    int max_depth;
    bool pending_end, seen_root, started;
    struct s3w_slice open[S3W_XML_MAX_DEPTH];
};

/* Starts reading doc (borrowed: it must outlive every token). max_depth is
 * capped at S3W_XML_MAX_DEPTH. flags: S3W_XML_PLAIN or 0. */
void s3w_xml_init(struct s3w_xml *x, struct s3w_slice doc, int max_depth, unsigned flags);

/* The next token into x. At the end of a well-formed document: S3W_XML_EOF
 * (again on each further call). */
int s3w_xml_next(struct s3w_xml *x);

/* The next START, END or EOF, skipping whitespace text; other text (mixed
 * content) is an error. */
int s3w_xml_next_tag(struct s3w_xml *x);

/* After a START: reads the element as a leaf - optional text, then its END,
 * with no child element and no comment inside - and sets *text to the raw
 * text (an empty slice positioned in the document when there is none, so
 * text->ptr is never NULL). Decode it with s3w_xml_decode. */
int s3w_xml_leaf(struct s3w_xml *x, struct s3w_slice *text);

/* After a START: skips the element, its content and its END. */
int s3w_xml_skip(struct s3w_xml *x);

/* Decodes raw text of a TEXT token (or of s3w_xml_leaf) into out[cap]:
 * entities and character references (to UTF-8) and CDATA sections. The
 * decoded form is never longer than raw, so cap = raw.len suffices.
 * Returns the decoded length, S3W_E_INVAL or S3W_E_TOOBIG. */
long s3w_xml_decode(struct s3w_slice raw, char *out, size_t cap);

/* Iterates over the attributes of a START's attrs (which the reader has
 * checked): true and *name, *value (raw, between the quotes) for the next
 * one, advancing *attrs; false when there is none left. */
bool s3w_xml_attr_next(struct s3w_slice *attrs, struct s3w_slice *name, struct s3w_slice *value);

/* ---- writing ---------------------------------------------------------------- */
enum {
    /* also escape '"' and '\'' (attribute values, and S3 error messages,
     * which S3 itself writes with &quot;) */
    S3W_XML_ESC_QUOTES = 1 << 0,
    /* CR as "&#13;": a raw CR reaches the next XML parser as LF (XML 1.0
     * section 2.11, end-of-line handling), so an object key sent on
     * upstream would be another key than the one authorized */
    S3W_XML_ESC_CR = 1 << 1,
};

/* Appends s to out as XML character data: '&', '<', '>' (and the quotes
 * with S3W_XML_ESC_QUOTES) as entities; a control byte other than TAB, LF
 * and CR, which no XML document may hold, as '?'. 0 or S3W_E_TOOBIG/NOMEM
 * (out may then hold part of s). */
int s3w_xml_escape(struct s3w_buf *out, struct s3w_slice s, unsigned flags);

/* "<name>" escaped value "</name>"; name is a literal of ours. */
int s3w_xml_elem(struct s3w_buf *out, const char *name, struct s3w_slice value, unsigned flags);

#endif
