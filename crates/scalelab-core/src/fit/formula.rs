//! Custom models typed as formulas, e.g. `E + A/N^alpha + B/D^beta`, `a*x^(-b) + c` or
//! `L0 + A*S1^(-alpha) - C*S2`, with exact gradients by forward-mode automatic differentiation.
//!
//! # Syntax
//! - Numbers: `2`, `0.5`, `.5`, `1e-3`, `6.02E23`.
//! - Operators, loosest first: `+ -`, then `* /`, then unary `-`/`+`, then `^` (right-associative,
//!   so `a^b^c = a^(b^c)`, `-x^2 = -(x^2)`, and `x^-a` is allowed). `**` means `^`; `·` and `×`
//!   mean `*`; `÷` means `/`; `−` (U+2212) means `-`. No implicit multiplication: write `2*x`.
//! - Functions: `exp ln log log10 log2 sqrt abs` (one argument; `log` is the natural logarithm),
//!   `pow(a, b)`, `min(a, b)`, `max(a, b)`. Constants: `pi` (or `π`) and `e`.
//! - Names: a letter or `_` followed by letters, digits or `_` (Unicode letters such as `α` and
//!   subscripts such as `L₀` work). Names the caller declares as inputs (e.g. `["N", "D"]`) are
//!   variables; every other name is a parameter, numbered in order of first appearance. Inputs take
//!   precedence over the constants `pi`/`e`; names are case-sensitive.
//! - An optional left-hand side `y =` or `L(N, D) =` is ignored.
//!
//! # Limits
//! At most [`MAX_FORMULA_CHARS`] characters, [`MAX_NESTING`] levels of nesting and
//! [`MAX_PARAMS`] parameters; at least one parameter.
//!
//! # Evaluation
//! The parser emits postfix code evaluated on an explicit stack (no recursion at evaluation time).
//! With a gradient, every stack slot carries `(v, ∂v/∂θ)` and each operation applies its chain rule
//! (`∂(a·b) = b∂a + a∂b`, `∂(a/b) = ∂a/b − (a/b)∂b/b`, `∂(a^b) = b·a^(b−1)∂a + a^b·ln a·∂b`, …);
//! a term whose incoming derivative is exactly 0 is skipped, so `(x − 1)^2` with negative base
//! still has a finite gradient and `0^b` has `∂/∂b = 0`. Like every [`Model`], the result is NaN or
//! ±∞ where the formula is undefined, and NaN for inputs of the wrong length.

use crate::fit::Model;
use crate::CoreError;

/// Most characters a formula may have.
pub const MAX_FORMULA_CHARS: usize = 2000;
/// Deepest nesting of parentheses, unary signs and exponents.
pub const MAX_NESTING: usize = 200;
/// Most parameters a formula may have.
pub const MAX_PARAMS: usize = 64;

/// Functions of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Exp,
    Ln,
    Log10,
    Log2,
    Sqrt,
    Abs,
}

/// One postfix instruction.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Const(f64),
    Input(usize),
    Param(usize),
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Min,
    Max,
    Call(Func),
}

const FUNCTIONS: &str = "exp, ln, log, log10, log2, sqrt, abs, pow, min, max";

/// Arity and op of a function name.
fn function(name: &str) -> Option<(usize, Op)> {
    Some(match name {
        "exp" => (1, Op::Call(Func::Exp)),
        "ln" | "log" => (1, Op::Call(Func::Ln)),
        "log10" => (1, Op::Call(Func::Log10)),
        "log2" => (1, Op::Call(Func::Log2)),
        "sqrt" => (1, Op::Call(Func::Sqrt)),
        "abs" => (1, Op::Call(Func::Abs)),
        "pow" => (2, Op::Pow),
        "min" => (2, Op::Min),
        "max" => (2, Op::Max),
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LParen,
    RParen,
    Comma,
    Eq,
    End,
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    /// 0-based character offset.
    pos: usize,
    /// The source text of the token.
    text: String,
}

fn err(position: usize, token: &str, reason: impl Into<String>) -> CoreError {
    CoreError::InvalidFormula {
        position,
        token: token.chars().take(40).collect(),
        reason: reason.into(),
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || (c.is_alphanumeric() && !is_superscript(c))
}

/// Superscript digits and signs (`x²`), which would otherwise read as part of a name.
fn is_superscript(c: char) -> bool {
    matches!(c, '\u{b2}' | '\u{b3}' | '\u{b9}' | '\u{2070}'..='\u{207f}')
}

fn tokenize(chars: &[char]) -> Result<Vec<Token>, CoreError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = |tok: Tok| Token {
            tok,
            pos: start,
            text: c.to_string(),
        };
        let token = match c {
            '+' => single(Tok::Plus),
            '-' | '\u{2212}' => single(Tok::Minus),
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                Token {
                    tok: Tok::Caret,
                    pos: start,
                    text: "**".into(),
                }
            }
            '*' | '·' | '×' | '⋅' => single(Tok::Star),
            '/' | '÷' => single(Tok::Slash),
            '^' => single(Tok::Caret),
            '(' => single(Tok::LParen),
            ')' => single(Tok::RParen),
            ',' => single(Tok::Comma),
            '=' => single(Tok::Eq),
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let mut j = i;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                if j < chars.len() && chars[j] == '.' {
                    j += 1;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                if j < chars.len() && (chars[j] == 'e' || chars[j] == 'E') {
                    let mut k = j + 1;
                    if k < chars.len() && (chars[k] == '+' || chars[k] == '-') {
                        k += 1;
                    }
                    if k < chars.len() && chars[k].is_ascii_digit() {
                        while k < chars.len() && chars[k].is_ascii_digit() {
                            k += 1;
                        }
                        j = k;
                    }
                }
                let text: String = chars[i..j].iter().collect();
                // Letters glued to a number ("2x", "1e"): a missing operator or a malformed exponent.
                if j < chars.len() && is_ident_continue(chars[j]) {
                    let mut k = j;
                    while k < chars.len() && is_ident_continue(chars[k]) {
                        k += 1;
                    }
                    let glued: String = chars[i..k].iter().collect();
                    return Err(err(
                        start,
                        &glued,
                        "a number directly followed by letters; write a multiplication as 2*x, \
                         an exponent as 1e-3",
                    ));
                }
                let value: f64 = text
                    .parse()
                    .map_err(|_| err(start, &text, "malformed number"))?;
                i = j - 1;
                Token {
                    tok: Tok::Num(value),
                    pos: start,
                    text,
                }
            }
            c if is_ident_start(c) => {
                let mut j = i + 1;
                while j < chars.len() && is_ident_continue(chars[j]) {
                    j += 1;
                }
                let text: String = chars[i..j].iter().collect();
                i = j - 1;
                Token {
                    tok: Tok::Ident(text.clone()),
                    pos: start,
                    text,
                }
            }
            other if is_superscript(other) => {
                return Err(err(
                    start,
                    &other.to_string(),
                    "superscripts are not supported; write powers with ^, e.g. x^2",
                ))
            }
            other => {
                return Err(err(
                    start,
                    &other.to_string(),
                    "unexpected character; use numbers, names, + - * / ^ ( ) and commas",
                ))
            }
        };
        out.push(token);
        i += 1;
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len(),
        text: String::new(),
    });
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    inputs: &'a [String],
    params: Vec<String>,
    code: Vec<Op>,
    depth: usize,
    stack: usize,
    max_stack: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // `tokens` always ends with `End`, and `at` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.at += 1;
        }
        t
    }

    fn emit(&mut self, op: Op) {
        match op {
            Op::Const(_) | Op::Input(_) | Op::Param(_) => {
                self.stack += 1;
                self.max_stack = self.max_stack.max(self.stack);
            }
            Op::Neg | Op::Call(_) => {}
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Pow | Op::Min | Op::Max => {
                self.stack = self.stack.saturating_sub(1);
            }
        }
        self.code.push(op);
    }

    fn expr(&mut self) -> Result<(), CoreError> {
        self.term()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => Op::Add,
                Tok::Minus => Op::Sub,
                _ => return Ok(()),
            };
            self.bump();
            self.term()?;
            self.emit(op);
        }
    }

    fn term(&mut self) -> Result<(), CoreError> {
        self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => Op::Mul,
                Tok::Slash => Op::Div,
                _ => return Ok(()),
            };
            self.bump();
            self.unary()?;
            self.emit(op);
        }
    }

    /// Every recursive path passes through here, so the nesting limit is enforced here.
    fn unary(&mut self) -> Result<(), CoreError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let t = self.peek();
            return Err(err(
                t.pos,
                &t.text,
                format!("the formula nests deeper than {MAX_NESTING} levels; simplify it"),
            ));
        }
        let result = match self.peek().tok {
            Tok::Minus => {
                self.bump();
                self.unary().map(|()| self.emit(Op::Neg))
            }
            Tok::Plus => {
                self.bump();
                self.unary()
            }
            _ => self.power(),
        };
        self.depth -= 1;
        result
    }

    fn power(&mut self) -> Result<(), CoreError> {
        self.primary()?;
        if self.peek().tok == Tok::Caret {
            self.bump();
            self.unary()?;
            self.emit(Op::Pow);
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<(), CoreError> {
        let t = self.bump();
        match t.tok {
            Tok::Num(v) => {
                self.emit(Op::Const(v));
                Ok(())
            }
            Tok::LParen => {
                self.expr()?;
                self.close(&t)
            }
            Tok::Ident(ref name) => {
                if self.peek().tok == Tok::LParen {
                    return self.call(&t, name);
                }
                if function(name).is_some() && !self.inputs.iter().any(|i| i == name) {
                    return Err(err(
                        t.pos,
                        name,
                        format!("“{name}” is a function; write {name}(…)"),
                    ));
                }
                let op = if let Some(k) = self.inputs.iter().position(|i| i == name) {
                    Op::Input(k)
                } else if name == "pi" || name == "π" {
                    Op::Const(std::f64::consts::PI)
                } else if name == "e" {
                    Op::Const(std::f64::consts::E)
                } else if let Some(k) = self.params.iter().position(|p| p == name) {
                    Op::Param(k)
                } else {
                    if self.params.len() >= MAX_PARAMS {
                        return Err(err(
                            t.pos,
                            name,
                            format!("more than {MAX_PARAMS} parameters; use fewer names"),
                        ));
                    }
                    self.params.push(name.clone());
                    Op::Param(self.params.len() - 1)
                };
                self.emit(op);
                Ok(())
            }
            Tok::End => Err(err(
                t.pos,
                "",
                "the formula ends where a number, name or '(' is expected",
            )),
            Tok::RParen => Err(err(
                t.pos,
                &t.text,
                "unbalanced ')' (no matching '('), or a missing operand before it",
            )),
            _ => Err(err(
                t.pos,
                &t.text,
                format!("expected a number, name or '(' but found “{}”", t.text),
            )),
        }
    }

    fn close(&mut self, open: &Token) -> Result<(), CoreError> {
        let t = self.bump();
        if t.tok == Tok::RParen {
            return Ok(());
        }
        let reason = format!(
            "unbalanced parentheses: expected ')' to close the '(' at character {}",
            open.pos
        );
        Err(err(t.pos, &t.text, reason))
    }

    fn call(&mut self, name_tok: &Token, name: &str) -> Result<(), CoreError> {
        let Some((arity, op)) = function(name) else {
            return Err(err(
                name_tok.pos,
                name,
                format!(
                    "unknown function “{name}”; known functions are {FUNCTIONS} (for a product write {name}*(…))"
                ),
            ));
        };
        let open = self.bump(); // '('
        let mut args = 0;
        if self.peek().tok != Tok::RParen {
            loop {
                self.expr()?;
                args += 1;
                if self.peek().tok == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        self.close(&open)?;
        if args != arity {
            return Err(err(
                name_tok.pos,
                name,
                format!("{name} takes {arity} argument(s), got {args}"),
            ));
        }
        self.emit(op);
        Ok(())
    }
}

/// Number of tokens of an optional left-hand side `name =` or `name(a, b, …) =`, or `None` if the
/// formula has none. Errors on a `=` that does not follow such a left-hand side.
fn lhs_len(tokens: &[Token]) -> Result<usize, CoreError> {
    let Some(eq) = tokens.iter().position(|t| t.tok == Tok::Eq) else {
        return Ok(0);
    };
    let lhs = &tokens[..eq];
    let ok = match lhs {
        [Token {
            tok: Tok::Ident(_), ..
        }] => true,
        [Token {
            tok: Tok::Ident(_), ..
        }, Token {
            tok: Tok::LParen, ..
        }, rest @ .., Token {
            tok: Tok::RParen, ..
        }] => rest.iter().enumerate().all(|(k, t)| {
            if k % 2 == 0 {
                matches!(t.tok, Tok::Ident(_))
            } else {
                t.tok == Tok::Comma
            }
        }),
        _ => false,
    };
    if ok {
        Ok(eq + 1)
    } else {
        let t = &tokens[eq];
        Err(err(
            t.pos,
            &t.text,
            "'=' may only follow a left-hand side such as “y =” or “L(N, D) =”",
        ))
    }
}

/// A model given by a typed formula; see the [module documentation](self) for the syntax.
///
/// Inputs are the declared input names (in the caller's order, e.g. `["N", "D"]`); parameters are
/// all other names in order of first appearance.
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaModel {
    text: String,
    inputs: Vec<String>,
    params: Vec<String>,
    code: Vec<Op>,
    max_stack: usize,
}

impl FormulaModel {
    /// Parses `formula` with input variables `inputs`.
    ///
    /// Errors: [`CoreError::InvalidFormula`] with the 0-based character position and the token for
    /// an empty or too long formula, an unexpected character, a malformed number, a missing
    /// operator or operand, unbalanced parentheses, an unknown function or wrong argument count,
    /// trailing tokens, nesting deeper than [`MAX_NESTING`], more than [`MAX_PARAMS`] parameters,
    /// or no parameter at all; [`CoreError::InvalidValue`] for an input name that is not a name,
    /// is a function name, or repeats.
    pub fn new<S: AsRef<str>>(formula: &str, inputs: &[S]) -> Result<Self, CoreError> {
        let inputs: Vec<String> = inputs.iter().map(|s| s.as_ref().to_string()).collect();
        for (k, name) in inputs.iter().enumerate() {
            let mut chars = name.chars();
            let valid = chars.next().is_some_and(is_ident_start) && chars.all(is_ident_continue);
            let reason = if !valid {
                Some("must start with a letter or '_' and hold only letters, digits and '_'")
            } else if function(name).is_some() {
                Some("is a function name")
            } else if inputs[..k].contains(name) {
                Some("is declared twice")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(CoreError::InvalidValue {
                    what: "input name",
                    reason: format!("“{}” {reason}", name.chars().take(40).collect::<String>()),
                });
            }
        }
        let n_chars = formula.chars().take(MAX_FORMULA_CHARS + 1).count();
        if n_chars > MAX_FORMULA_CHARS {
            return Err(err(
                MAX_FORMULA_CHARS,
                "",
                format!("the formula is longer than {MAX_FORMULA_CHARS} characters; shorten it"),
            ));
        }
        let chars: Vec<char> = formula.chars().collect();
        let tokens = tokenize(&chars)?;
        let skip = lhs_len(&tokens)?;
        if tokens[skip].tok == Tok::End {
            return Err(err(
                tokens[skip].pos,
                "",
                "the formula is empty; type an expression such as a*x^(-b) + c",
            ));
        }
        let mut p = Parser {
            tokens,
            at: skip,
            inputs: &inputs,
            params: Vec::new(),
            code: Vec::new(),
            depth: 0,
            stack: 0,
            max_stack: 0,
        };
        p.expr()?;
        let t = p.peek().clone();
        match t.tok {
            Tok::End => {}
            Tok::RParen => {
                return Err(err(t.pos, &t.text, "unbalanced ')' (no matching '(')"));
            }
            Tok::Num(_) | Tok::Ident(_) | Tok::LParen => {
                return Err(err(
                    t.pos,
                    &t.text,
                    "missing operator before this (implicit multiplication is not supported; write 2*x)",
                ));
            }
            Tok::Eq => {
                return Err(err(
                    t.pos,
                    &t.text,
                    "only one '=' is allowed, after a left-hand side such as “y =” or “L(N, D) =”",
                ));
            }
            _ => {
                return Err(err(
                    t.pos,
                    &t.text,
                    "unexpected token after a complete expression",
                ));
            }
        }
        if p.params.is_empty() {
            return Err(err(
                0,
                formula.trim(),
                "the formula has no parameters to fit; every name that is not an input \
                 (or pi, e) is a parameter",
            ));
        }
        let (params, code, max_stack) = (p.params, p.code, p.max_stack);
        Ok(FormulaModel {
            text: formula.trim().to_string(),
            inputs,
            params,
            code,
            max_stack,
        })
    }

    /// The declared input names.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The parameter names, in order of first appearance.
    pub fn params(&self) -> &[String] {
        &self.params
    }

    fn eval_value(&self, x: &[f64], theta: &[f64], stack: &mut [f64]) -> f64 {
        let mut top = 0usize;
        for op in &self.code {
            match *op {
                Op::Const(v) => {
                    stack[top] = v;
                    top += 1;
                }
                Op::Input(k) => {
                    stack[top] = x[k];
                    top += 1;
                }
                Op::Param(k) => {
                    stack[top] = theta[k];
                    top += 1;
                }
                Op::Neg => stack[top - 1] = -stack[top - 1],
                Op::Call(f) => stack[top - 1] = apply(f, stack[top - 1]),
                binary => {
                    top -= 1;
                    let (a, b) = (stack[top - 1], stack[top]);
                    stack[top - 1] = binary_value(binary, a, b);
                }
            }
        }
        stack[0]
    }

    fn eval_grad(
        &self,
        x: &[f64],
        theta: &[f64],
        vals: &mut [f64],
        grads: &mut [f64],
        out: &mut [f64],
    ) -> f64 {
        let p = self.params.len();
        let mut top = 0usize;
        for op in &self.code {
            match *op {
                Op::Const(v) => {
                    grads[top * p..(top + 1) * p].fill(0.0);
                    vals[top] = v;
                    top += 1;
                }
                Op::Input(k) => {
                    grads[top * p..(top + 1) * p].fill(0.0);
                    vals[top] = x[k];
                    top += 1;
                }
                Op::Param(k) => {
                    let g = &mut grads[top * p..(top + 1) * p];
                    g.fill(0.0);
                    g[k] = 1.0;
                    vals[top] = theta[k];
                    top += 1;
                }
                Op::Neg => {
                    vals[top - 1] = -vals[top - 1];
                    for g in &mut grads[(top - 1) * p..top * p] {
                        *g = -*g;
                    }
                }
                Op::Call(f) => {
                    let a = vals[top - 1];
                    let v = apply(f, a);
                    let d = match f {
                        Func::Exp => v,
                        Func::Ln => 1.0 / a,
                        Func::Log10 => 1.0 / (a * std::f64::consts::LN_10),
                        Func::Log2 => 1.0 / (a * std::f64::consts::LN_2),
                        Func::Sqrt => 0.5 / v,
                        Func::Abs => {
                            if a > 0.0 {
                                1.0
                            } else if a < 0.0 {
                                -1.0
                            } else if a == 0.0 {
                                0.0
                            } else {
                                f64::NAN
                            }
                        }
                    };
                    vals[top - 1] = v;
                    for g in &mut grads[(top - 1) * p..top * p] {
                        if *g != 0.0 {
                            *g *= d;
                        }
                    }
                }
                binary => {
                    top -= 1;
                    let (a, b) = (vals[top - 1], vals[top]);
                    let v = binary_value(binary, a, b);
                    let (lo, hi) = grads.split_at_mut(top * p);
                    let ga = &mut lo[(top - 1) * p..];
                    let gb = &hi[..p];
                    match binary {
                        Op::Add => ga.iter_mut().zip(gb).for_each(|(x, y)| *x += y),
                        Op::Sub => ga.iter_mut().zip(gb).for_each(|(x, y)| *x -= y),
                        Op::Mul => ga.iter_mut().zip(gb).for_each(|(da, &db)| {
                            *da = nz(*da, |d| d * b) + nz(db, |d| a * d);
                        }),
                        Op::Div => ga.iter_mut().zip(gb).for_each(|(da, &db)| {
                            *da = nz(*da, |d| d / b) - nz(db, |d| v * d / b);
                        }),
                        Op::Pow => {
                            let needs_base = ga.iter().any(|d| *d != 0.0);
                            let base_factor = if needs_base { b * a.powf(b - 1.0) } else { 0.0 };
                            let exp_factor = if v == 0.0 { 0.0 } else { v * a.ln() };
                            ga.iter_mut().zip(gb).for_each(|(da, &db)| {
                                *da = nz(*da, |d| base_factor * d) + nz(db, |d| exp_factor * d);
                            });
                        }
                        Op::Min | Op::Max => {
                            // The derivative of the branch that binary_value picked (ties: a).
                            let chose_b = if binary == Op::Min { b < a } else { b > a };
                            if v.is_nan() {
                                ga.fill(f64::NAN);
                            } else if chose_b {
                                ga.copy_from_slice(gb);
                            }
                        }
                        _ => {}
                    }
                    vals[top - 1] = v;
                }
            }
        }
        out.copy_from_slice(&grads[..p]);
        vals[0]
    }
}

/// `f(d)` when `d ≠ 0`, else `0` (skips `0·∞` in chain-rule terms that do not contribute).
#[inline]
fn nz(d: f64, f: impl FnOnce(f64) -> f64) -> f64 {
    if d == 0.0 {
        0.0
    } else {
        f(d)
    }
}

fn apply(f: Func, a: f64) -> f64 {
    match f {
        Func::Exp => a.exp(),
        Func::Ln => a.ln(),
        Func::Log10 => a.log10(),
        Func::Log2 => a.log2(),
        Func::Sqrt => a.sqrt(),
        Func::Abs => a.abs(),
    }
}

/// Binary operations; `min`/`max` propagate NaN (unlike `f64::min`), ties pick `a`.
fn binary_value(op: Op, a: f64, b: f64) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
        Op::Pow => a.powf(b),
        Op::Min if a.is_nan() || b.is_nan() => f64::NAN,
        Op::Max if a.is_nan() || b.is_nan() => f64::NAN,
        Op::Min => {
            if b < a {
                b
            } else {
                a
            }
        }
        Op::Max => {
            if b > a {
                b
            } else {
                a
            }
        }
        _ => f64::NAN,
    }
}

/// Stack slots that fit in a fixed buffer without allocating.
const SMALL: usize = 256;

impl Model for FormulaModel {
    fn param_names(&self) -> Vec<String> {
        self.params.clone()
    }
    fn n_inputs(&self) -> usize {
        self.inputs.len()
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let p = self.params.len();
        let ok = x.len() == self.inputs.len() && theta.len() == p && self.max_stack > 0;
        match grad {
            Some(g) if !ok || g.len() != p => {
                g.fill(f64::NAN);
                f64::NAN
            }
            _ if !ok => f64::NAN,
            None => {
                if self.max_stack <= SMALL {
                    let mut buf = [0.0; SMALL];
                    self.eval_value(x, theta, &mut buf)
                } else {
                    self.eval_value(x, theta, &mut vec![0.0; self.max_stack])
                }
            }
            Some(g) => {
                let n = self.max_stack * (p + 1);
                if n <= SMALL {
                    let mut buf = [0.0; SMALL];
                    let (vals, grads) = buf.split_at_mut(self.max_stack);
                    self.eval_grad(x, theta, vals, grads, g)
                } else {
                    let mut buf = vec![0.0; n];
                    let (vals, grads) = buf.split_at_mut(self.max_stack);
                    self.eval_grad(x, theta, vals, grads, g)
                }
            }
        }
    }
    fn formula(&self) -> String {
        self.text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(formula: &str, inputs: &[&str]) -> (usize, String, String) {
        match FormulaModel::new(formula, inputs) {
            Err(CoreError::InvalidFormula {
                position,
                token,
                reason,
            }) => (position, token, reason),
            other => panic!("{formula:?}: expected InvalidFormula, got {other:?}"),
        }
    }

    #[test]
    fn precedence_and_associativity() {
        let m = FormulaModel::new("-x^2 + a*0", &["x"]).unwrap();
        assert_eq!(m.eval(&[3.0], &[1.0], None), -9.0);
        let m = FormulaModel::new("2^3^2 * a", &["x"]).unwrap();
        assert_eq!(m.eval(&[0.0], &[1.0], None), 512.0);
        let m = FormulaModel::new("a - b - c", &["x"]).unwrap();
        assert_eq!(m.eval(&[0.0], &[1.0, 2.0, 3.0], None), -4.0);
        let m = FormulaModel::new("a / 2 / 4 + x^-a", &["x"]).unwrap();
        assert_eq!(m.eval(&[2.0], &[1.0], None), 0.125 + 0.5);
        let m = FormulaModel::new("y = a ** 2 · e − pi", &[] as &[&str]).unwrap();
        assert_eq!(
            m.eval(&[], &[3.0], None),
            9.0 * std::f64::consts::E - std::f64::consts::PI
        );
    }

    #[test]
    fn errors_name_position_and_token() {
        assert_eq!(reason("a + foo(x)", &["x"]).0, 4);
        assert!(reason("a + foo(x)", &["x"]).2.contains("unknown function"));
        assert_eq!(reason("(a + x", &["x"]).0, 6);
        assert!(reason("(a + x", &["x"]).2.contains("unbalanced"));
        assert_eq!(reason("a + x)", &["x"]).0, 5);
        assert_eq!(reason("  ", &["x"]).0, 2);
        assert!(reason("2 x a", &["x"]).2.contains("missing operator"));
        assert!(reason("2x", &["x"]).2.contains("number directly followed"));
        assert!(reason("x + 1", &["x"]).2.contains("no parameters"));
        assert!(reason("a + $", &["x"]).2.contains("unexpected character"));
        assert_eq!(reason("a*x² + b", &["x"]).0, 3);
        assert!(reason("a*x² + b", &["x"]).2.contains("superscripts"));
        assert!(FormulaModel::new("L₀ + a", &["x"]).is_ok());
        assert!(reason("pow(a)", &["x"]).2.contains("takes 2"));
        assert!(reason("a + exp", &["x"]).2.contains("is a function"));
        assert!(reason("a = b = c", &["x"]).2.contains("'='"));
        let deep = format!("{}a{}", "(".repeat(300), ")".repeat(300));
        assert!(reason(&deep, &["x"]).2.contains("nests deeper"));
        let long = "a+".repeat(1001);
        assert!(reason(&long, &["x"]).2.contains("longer than"));
        assert!(FormulaModel::new("a", &["1x"]).is_err());
        assert!(FormulaModel::new("a", &["x", "x"]).is_err());
        assert!(FormulaModel::new("a", &["exp"]).is_err());
    }

    #[test]
    fn gradient_skips_non_contributing_terms() {
        // d/da (x − 1)^2·a at x = 0 (negative base, constant exponent) is finite.
        let m = FormulaModel::new("a*(x - 1)^2", &["x"]).unwrap();
        let mut g = [0.0];
        assert_eq!(m.eval(&[0.0], &[2.0], Some(&mut g)), 2.0);
        assert_eq!(g, [1.0]);
        // 0^b has ∂/∂b = 0 for b > 0.
        let m = FormulaModel::new("x^b", &["x"]).unwrap();
        assert_eq!(m.eval(&[0.0], &[2.0], Some(&mut g)), 0.0);
        assert_eq!(g, [0.0]);
        // min/max follow the chosen branch.
        let m = FormulaModel::new("max(a, b*x)", &["x"]).unwrap();
        let mut g2 = [0.0; 2];
        m.eval(&[2.0], &[1.0, 3.0], Some(&mut g2));
        assert_eq!(g2, [0.0, 2.0]);
        m.eval(&[2.0], &[7.0, 3.0], Some(&mut g2));
        assert_eq!(g2, [1.0, 0.0]);
    }
}
