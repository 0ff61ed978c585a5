package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampfn/wampfn"
)

// The backend: a plain Go type. Nothing in it knows about WAMP but its
// error URIs, the ProgressSink of List and MethodOptions.

// Book is one book of the Library. It goes on the wire as a dict keyed by
// its json tags, both ways.
type Book struct {
	Title    string `json:"title"`
	Author   string `json:"author"`
	Year     int    `json:"year"`
	Borrower string `json:"borrower,omitempty"`
}

func (b Book) String() string {
	s := fmt.Sprintf("%q by %s (%d)", b.Title, b.Author, b.Year)
	if b.Borrower != "" {
		s += ", lent to " + b.Borrower
	}
	return s
}

// ID identifies a book: 1 for the first one added, 2 for the next, ...
type ID int

// Stats summarises the Library.
type Stats struct {
	Books  int `json:"books"`
	OnLoan int `json:"on_loan"`
}

// The URIs of the Library's application errors, which callers in any
// language see.
const (
	errNotFound wamp.URI = "com.example.error.not_found"
	errOnLoan   wamp.URI = "com.example.error.on_loan"
)

// Library is a small lending library. It is safe for concurrent use, as it
// must be: wampfn runs each call on a goroutine of its own.
type Library struct {
	mu    sync.Mutex
	books []Book // the book with ID id is books[id-1]
}

// MethodOptions gives RegisterMethods what reflection cannot see: the
// names of Lend's parameters, so that callers may pass them by keyword;
// that Export is not a procedure; and the words of the OpenRPC document
// that the Service serves (see WithDiscovery in main.go), which
// reflection cannot read from these doc comments.
func (l *Library) MethodOptions() map[string][]wampfn.Option {
	return map[string][]wampfn.Option{
		"Add": {wampfn.WithSummary("Adds a book; returns its ID.")},
		"Get": {wampfn.WithSummary("Returns the book with an ID."),
			wampfn.WithParamDescriptions("the book's ID, 1 for the first one added")},
		"List": {wampfn.WithSummary("Finds books by title or author."),
			wampfn.WithDescription("Sends each matching book as a progressive result, in the order of their IDs, then returns how many matched."),
			wampfn.WithParamDescriptions("a part of the title or the author, ignoring case; \"\" matches all"),
			wampfn.WithResultDescription("how many books matched")},
		"Lend": {wampfn.WithSummary("Lends a book."),
			wampfn.WithParamNames("id", "borrower"), wampfn.WithParamDescriptions("the book's ID", "who borrows it")},
		"Stats":  {wampfn.WithSummary("Counts the books, and those on loan.")},
		"Export": {wampfn.Exclude()},
	}
}

// Add adds b to the library and returns its ID.
func (l *Library) Add(b Book) (ID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b.Borrower = "" // a new book is on the shelf
	l.books = append(l.books, b)
	return ID(len(l.books)), nil
}

// Get returns the book with ID id, or a com.example.error.not_found error.
func (l *Library) Get(id ID) (Book, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := l.book(id)
	if err != nil {
		return Book{}, err
	}
	return *b, nil
}

// List sends the books whose title or author contains filter, ignoring
// case ("" matches all), one progressive result each in the order of
// their IDs, and returns how many matched. A caller that did not ask for
// progress gets the count only. ctx is cancelled when the caller cancels
// (Send then returns its error); a real backend would pass it to its
// database.
func (l *Library) List(ctx context.Context, filter string, sink wampfn.ProgressSink[Book]) (int, error) {
	filter = strings.ToLower(filter)
	var matches []Book
	l.mu.Lock()
	for _, b := range l.books {
		if strings.Contains(strings.ToLower(b.Title+"\n"+b.Author), filter) {
			matches = append(matches, b)
		}
	}
	l.mu.Unlock()
	// Send without holding the lock: it blocks while a slow caller
	// catches up.
	for _, b := range matches {
		if err := sink.Send(b); err != nil {
			return 0, err // the call was cancelled
		}
	}
	return len(matches), nil
}

// Lend lends the book with ID id to borrower. It fails with
// com.example.error.not_found or com.example.error.on_loan.
func (l *Library) Lend(id ID, borrower string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := l.book(id)
	if err != nil {
		return err
	}
	if b.Borrower != "" {
		return &wampfn.Error{URI: errOnLoan, Args: wamp.List{fmt.Sprintf("book %d is lent to %s", id, b.Borrower)}}
	}
	b.Borrower = borrower
	return nil
}

// Stats counts the books, and those on loan.
func (l *Library) Stats() (Stats, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{Books: len(l.books)}
	for _, b := range l.books {
		if b.Borrower != "" {
			s.OnLoan++
		}
	}
	return s, nil
}

// Export writes every book to w as JSON, for the process's own backups.
// It is no procedure (see MethodOptions): callers have no business with
// it, and an io.Writer cannot cross the wire anyway, so RegisterMethods
// would refuse it.
func (l *Library) Export(w io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return json.NewEncoder(w).Encode(l.books)
}

// book returns the book with ID id. l.mu is held.
func (l *Library) book(id ID) (*Book, error) {
	if id < 1 || int(id) > len(l.books) {
		return nil, &wampfn.Error{URI: errNotFound, Args: wamp.List{fmt.Sprintf("no book with ID %d", id)}}
	}
	return &l.books[id-1], nil
}
